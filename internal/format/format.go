// Package format is the tokensession token format, version 1: how a token
// is laid out, how its footer names the key, what it asserts implicitly,
// and what its claims must be. The library and the tokensession command
// both build on it, so that the command reads tokens exactly as the
// library does without holding anything the library would not give it.
//
// A token is a PASETO v4.local token:
//
//	v4.local.<base64url(nonce || ciphertext || tag)>.<base64url(footer)>
//
// footer:             {"kid":"k4.lid.…"} exactly, the PASERK ID of the key
// implicit assertion: "tokensession/v1:" + purpose
// claims:             {"created":…,"data":…,"exp":…,"iat":…,"sid":…}
//
// Times are RFC 3339 in UTC with a 'Z'. The library writes "exp" and "iat"
// in whole seconds and "created" with the fractional seconds
// time.RFC3339Nano writes; an opener accepts fractional seconds in any.
//
// Nothing here reads the clock: [Open] authenticates, decrypts and checks
// the shape of the claims, whatever the time, and [CheckTimes] decides
// whether their times make the token valid at an instant the caller
// gives, under the caller's timeouts.
package format

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"aidanwoods.dev/go-paseto"
)

const (
	// Header starts every token.
	Header = "v4.local."
	// ImplicitPrefix starts the implicit assertion; the purpose follows.
	ImplicitPrefix = "tokensession/v1:"
	// KeyIDPrefix starts a PASERK k4.lid key ID.
	KeyIDPrefix = "k4.lid."
	// KeyIDLen is the length of a k4.lid key ID: the prefix and the
	// base64url encoding of a 33-byte BLAKE2b digest.
	KeyIDLen = len(KeyIDPrefix) + 44
)

// Why a token does not open. The messages are fixed and never quote the
// token.
var (
	ErrHeader       = errors.New("not a v4.local token")
	ErrNoFooter     = errors.New("token has no footer")
	ErrPayload      = errors.New("payload is not canonical base64url of a v4.local payload")
	ErrFooter       = errors.New(`footer is not exactly {"kid":"k4.lid.…"}`)
	ErrNotAuthentic = errors.New("not authentic: wrong key or purpose, or altered")
	ErrClaims       = errors.New("claims are missing or have the wrong type")
	ErrTime         = errors.New("a time claim is not RFC 3339 UTC ending in Z")
	ErrSessionID    = errors.New("sid is not 1 to 64 base64url characters")
)

var b64 = base64.RawURLEncoding.Strict()

// Implicit returns the implicit assertion of tokens for purpose.
func Implicit(purpose string) []byte {
	return []byte(ImplicitPrefix + purpose)
}

// Footer returns the footer of tokens sealed by the key whose ID is kid.
func Footer(kid string) []byte {
	return []byte(`{"kid":"` + kid + `"}`)
}

// Split returns the payload and the encoded footer of tainted, without
// decoding either. It fails with [ErrHeader] or [ErrNoFooter].
func Split(tainted string) (payload, footer string, err error) {
	body, ok := strings.CutPrefix(tainted, Header)
	if !ok {
		return "", "", ErrHeader
	}
	payload, footer, ok = strings.Cut(body, ".")
	if !ok {
		return "", "", ErrNoFooter
	}
	return payload, footer, nil
}

// FooterKeyID returns the key ID that the encoded footer names, or
// [ErrFooter] unless the footer is exactly {"kid":"k4.lid.…"} in canonical
// base64url. The footer is authenticated only when the token is decrypted:
// until then the ID is a claim, not a fact.
func FooterKeyID(footer string) (string, error) {
	const n = len(`{"kid":""}`) + KeyIDLen
	if len(footer) != b64.EncodedLen(n) {
		return "", ErrFooter
	}
	var buf [n]byte
	if k, err := b64.Decode(buf[:], []byte(footer)); err != nil || k != n {
		return "", ErrFooter
	}
	f := string(buf[:])
	kid, ok := strings.CutPrefix(f, `{"kid":"`)
	if !ok {
		return "", ErrFooter
	}
	kid, ok = strings.CutSuffix(kid, `"}`)
	if !ok || !IsKeyID(kid) {
		return "", ErrFooter
	}
	return kid, nil
}

// IsKeyID reports whether s has the shape of a PASERK k4.lid key ID.
func IsKeyID(s string) bool {
	return len(s) == KeyIDLen && strings.HasPrefix(s, KeyIDPrefix) && isBase64URL(s[len(KeyIDPrefix):])
}

// IsSessionID reports whether sid could be a session ID: the library
// makes 22 base64url characters; up to 64 are allowed, nothing else.
func IsSessionID(sid string) bool {
	return sid != "" && len(sid) <= 64 && isBase64URL(sid)
}

// isBase64URL reports whether every byte of s is a base64url character.
func isBase64URL(s string) bool {
	var bad byte
	for i := 0; i < len(s); i++ {
		bad |= b64Values[s[i]]
	}
	return bad < 64
}

// PayloadShape is the cheap part of [CanonicalPayload], for every open: a
// plausible length, and no CR or LF, which go-paseto's strict base64
// decoder would refuse with an error of its own. The decoder checks the
// rest as it decrypts.
func PayloadShape(s string) bool {
	return len(s)%4 != 1 && len(s)*6/8 > 64 &&
		strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0
}

// CanonicalPayload reports whether s is canonical unpadded base64url of a
// v4.local payload (32-byte nonce, ciphertext, 32-byte tag), without
// decoding it, as go-paseto's strict decoder would. Checking it lets a
// mangled payload count as malformed rather than not authentic when
// nothing decrypts it.
func CanonicalPayload(s string) bool {
	if !PayloadShape(s) || !isBase64URL(s) {
		return false
	}
	// The unused low bits of the last character must be zero.
	last := b64Values[s[len(s)-1]]
	switch len(s) % 4 {
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

// b64Values maps each base64url character to its value, every other byte
// to 0xff.
var b64Values = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// Claims are a token's claims, read and checked for shape.
type Claims struct {
	Times
	SessionID string // "sid"
	// Token holds every claim as go-paseto parsed it, each still raw
	// JSON; "data" is decoded from it. It must not be modified.
	Token paseto.Token
}

// Data returns the raw JSON of the "data" claim, or [ErrClaims] if the
// token has none.
func (c *Claims) Data() (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.Token.Get("data", &raw); err != nil {
		return nil, ErrClaims
	}
	if raw == nil {
		// encoding/json stores a null into the interface go-paseto
		// passes it, instead of into raw.
		raw = json.RawMessage("null")
	}
	return raw, nil
}

var parser = paseto.NewParserWithoutExpiryCheck()

// Open authenticates and decrypts tainted with key and the implicit
// assertion (see [Implicit]), and reads its claims, whatever the time.
// A key of raw bytes is [paseto.V4SymmetricKeyFromBytes] away. Open does
// not check that the footer names key: the caller picked key by it.
//
// It fails with [ErrPayload] for a payload that is not canonical
// base64url, [ErrNotAuthentic] for a token that key and implicit did not
// seal, and [ErrClaims], [ErrTime] or [ErrSessionID] for an authentic
// token whose claims break the format. Open never panics.
func Open(key *paseto.V4SymmetricKey, tainted string, implicit []byte) (Claims, error) {
	t, err := Decrypt(key, tainted, implicit)
	if err != nil {
		return Claims{}, err
	}
	return ReadClaims(t)
}

// Decrypt is the first half of [Open]: it authenticates and decrypts
// tainted, and returns its claims as go-paseto parsed them, unchecked.
// The claims are a JSON object; it fails as Open does otherwise.
func Decrypt(key *paseto.V4SymmetricKey, tainted string, implicit []byte) (*paseto.Token, error) {
	t, err := parser.ParseV4Local(*key, tainted, implicit)
	if err != nil {
		var ce base64.CorruptInputError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ce):
			// go-paseto decodes the payload strictly before it
			// authenticates it.
			return nil, ErrPayload
		case errors.As(err, &se) || errors.As(err, &te):
			// Authentic (only a key holder can get here) but not a JSON
			// object of claims.
			return nil, ErrClaims
		}
		return nil, ErrNotAuthentic
	}
	return t, nil
}

// ReadClaims is the second half of [Open]: it reads and checks the claims
// of a decrypted token.
func ReadClaims(t *paseto.Token) (Claims, error) {
	var c Claims
	var err error
	if c.Expires, err = claimTime(t, "exp"); err != nil {
		return Claims{}, err
	}
	if c.IssuedAt, err = claimTime(t, "iat"); err != nil {
		return Claims{}, err
	}
	if c.Created, err = claimTime(t, "created"); err != nil {
		return Claims{}, err
	}
	if c.SessionID, err = t.GetString("sid"); err != nil {
		return Claims{}, ErrClaims
	}
	if !IsSessionID(c.SessionID) {
		return Claims{}, ErrSessionID
	}
	c.Token = *t
	return c, nil
}

// claimTime reads the time claim name with [ParseTime].
func claimTime(t *paseto.Token, name string) (time.Time, error) {
	s, err := t.GetString(name)
	if err != nil {
		return time.Time{}, ErrClaims
	}
	return ParseTime(s)
}

// ParseTime parses a time claim: RFC 3339 in UTC, written with 'Z', with
// or without fractional seconds. It fails with [ErrTime].
func ParseTime(s string) (time.Time, error) {
	if !strings.HasSuffix(s, "Z") {
		return time.Time{}, ErrTime
	}
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, ErrTime
	}
	return tm, nil
}
