//go:build goexperiment.jsonv2

package tokensession

import jsonv2 "encoding/json/v2"

// JSONv2Codec is a [Codec] built on [encoding/json/v2]. It exists only in
// programs built with GOEXPERIMENT=jsonv2 (Go 1.25 and later), and adds no
// dependency. Its output goes into the "data" claim as plain JSON, as
// [JSONCodec]'s does. On a cache hit, where decoding the value is most of
// the work, a read of a 3 KiB value took 0.48× the CPU time it takes with
// [JSONCodec] in a default build (benchmarks/README.md). The experiment
// also moves encoding/json itself onto the v2 implementation, so in such a
// build [JSONCodec] gains most of that too, keeping its v1 semantics: this
// codec took 0.86–0.91× its time to read and 1.05–1.06× to change and
// save.
//
// It uses the v2 defaults, which differ from encoding/json's:
//
//   - Names match case-sensitively: {"UID":1} does not set a field tagged
//     `json:"uid"`.
//   - A nil slice encodes as [] and a nil map as {}, not null.
//   - An object with a duplicate name fails to decode.
//   - Invalid UTF-8 in a string fails to encode and to decode, instead of
//     becoming U+FFFD.
//   - omitempty omits a field only if it encodes as null, "", {} or [];
//     a zero number or false is written (use omitzero).
//   - A [time.Duration] has no default encoding and fails to encode (tag
//     it `json:",format:nano"` or `json:",format:units"`).
//   - A byte array encodes as a base64 string; map keys come out in no
//     particular order; HTML characters are not escaped.
//
// A value that avoids these cases reads the same under both codecs, so
// tokens sealed with one open with the other, except that [JSONCodec]
// decodes [] into an empty, non-nil slice. Every token is checked as
// before; only the value's encoding changes.
type JSONv2Codec struct{}

// Marshal calls [jsonv2.Marshal].
func (JSONv2Codec) Marshal(v any) ([]byte, error) { return jsonv2.Marshal(v) }

// Unmarshal calls [jsonv2.Unmarshal].
func (JSONv2Codec) Unmarshal(data []byte, v any) error { return jsonv2.Unmarshal(data, v) }

// EncodesJSON returns true.
func (JSONv2Codec) EncodesJSON() bool { return true }
