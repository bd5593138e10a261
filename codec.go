package tokensession

import (
	"bytes"
	"encoding/json"
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

// encodeData returns the "data" claim's JSON value for v.
func encodeData(c Codec, isJSON bool, v any) ([]byte, error) {
	out, err := c.Marshal(v)
	if err != nil {
		return nil, err
	}
	if isJSON {
		if _, std := c.(JSONCodec); std {
			return out, nil // valid, and a fresh slice
		}
		// The output goes into the claims as is: anything but a single JSON
		// value could add or override claims ("1,\"created\":…").
		if !json.Valid(out) {
			return nil, errCodec
		}
		// The codec may reuse its buffer; the open cache keeps these bytes.
		return bytes.Clone(out), nil
	}
	dst := make([]byte, 0, b64.EncodedLen(len(out))+2)
	dst = append(dst, '"')
	dst = b64.AppendEncode(dst, out)
	return append(dst, '"'), nil
}

// decodeData decodes the "data" claim's raw JSON value into v.
func decodeData(c Codec, isJSON bool, raw []byte, v any) error {
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
