package tokensession

import (
	"encoding/json"

	"aidanwoods.dev/go-paseto"
)

// A Codec turns a session value into bytes and back. Marshal receives a
// value of the manager's type T; Unmarshal receives a *T.
//
// If the codec also implements [JSONValueCodec] and its EncodesJSON method
// returns true, its output must be a single JSON value, and the token's
// "data" claim holds it as is, readable by any PASETO library. Otherwise the
// "data" claim is the unpadded base64url string of the output.
//
// A Codec must be safe for concurrent use.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// A JSONValueCodec is a [Codec] that states whether its output is JSON.
type JSONValueCodec interface {
	Codec
	EncodesJSON() bool
}

// JSONCodec is the default [Codec]: [encoding/json]. Its output goes into
// the "data" claim as plain JSON.
type JSONCodec struct{}

// Marshal calls [json.Marshal].
func (JSONCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal calls [json.Unmarshal].
func (JSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// EncodesJSON returns true.
func (JSONCodec) EncodesJSON() bool { return true }

func codecIsJSON(c Codec) bool {
	j, ok := c.(JSONValueCodec)
	return ok && j.EncodesJSON()
}

// setData sets the "data" claim of t to v, encoded by c.
func setData(t *paseto.Token, c Codec, isJSON bool, v any) error {
	if _, std := c.(JSONCodec); std {
		// encoding/json marshals v straight into the claim.
		return t.Set("data", v)
	}
	out, err := c.Marshal(v)
	if err != nil {
		return err
	}
	if isJSON {
		// Set compacts the output into a claim of its own, and fails
		// unless it is a single JSON value, which could not add or
		// override claims ("1,\"created\":…").
		return t.Set("data", json.RawMessage(out))
	}
	return t.Set("data", b64.EncodeToString(out))
}

// decodeData decodes the "data" claim of d into v, which holds the zero
// value. A JSON null is the zero value, whatever the codec.
func decodeData(c Codec, isJSON bool, d *decrypted, v any) error {
	raw := json.RawMessage(d.data)
	if !d.cached {
		if _, std := c.(JSONCodec); std {
			// encoding/json decodes the claim straight into v; null
			// leaves it as it is.
			return d.claims.Get("data", v)
		}
		if err := d.claims.Get("data", &raw); err != nil {
			return err
		}
		// A null leaves raw nil: encoding/json stores it into the
		// interface go-paseto passes it, instead of into raw.
	}
	if raw == nil || string(raw) == "null" {
		return nil
	}
	if _, std := c.(JSONCodec); std {
		return json.Unmarshal(raw, v)
	}
	if isJSON {
		return c.Unmarshal(raw, v)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	return c.Unmarshal(b, v)
}
