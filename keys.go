package tokensession

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"aidanwoods.dev/go-paseto"
	"golang.org/x/crypto/blake2b"

	"github.com/tokensession/tokensession/internal/format"
)

const (
	// KeySize is the length in bytes of a v4.local key.
	KeySize = 32

	paserkLocalPrefix = "k4.local."
	paserkLIDPrefix   = "k4.lid."
	// lidLen is the length of a k4.lid string: the prefix and the base64url
	// encoding of a 33-byte BLAKE2b digest.
	lidLen = len(paserkLIDPrefix) + 44
)

var b64 = base64.RawURLEncoding.Strict()

// A Key is a 32-byte PASETO v4.local key together with its PASERK ID.
//
// A Key never reveals its secret by accident: every fmt verb, %#v included,
// and [encoding/json] show only its ID, and errors name keys by ID or by
// position. The secret leaves the process only through
// [Key.UnsafeExportPASERK].
//
// Keys are immutable and safe for concurrent use. The zero Key is invalid.
// Keys cannot be compared with ==; use [Key.Equal].
type Key struct {
	_ [0]func() // incomparable
	// k is a pointer so that a Key nested in an unexported field of a
	// printed struct shows as an address, not as its bytes.
	k *keyMaterial
}

type keyMaterial struct {
	// The secret fields are pointers too: fmt prints a pointer it cannot
	// call methods on at depth 0 when reporting a bad verb (%s of a struct
	// holding a Key in an unexported field), so k itself may be followed
	// once; the bytes must still be one more pointer away.
	secret *paseto.V4SymmetricKey
	raw    *[KeySize]byte
	id     string
	// footer is the token footer naming this key, built once.
	footer []byte
	// encFooter is footer in base64url, as it appears in a token.
	encFooter string
}

// GenerateKey returns a new random key from [crypto/rand].
func GenerateKey() Key {
	var b [KeySize]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return newKey(b)
}

// NewKeyFromBytes returns the key with the given 32 bytes. The bytes are
// copied. Most callers want [GenerateKey] or [ParseKey] instead.
func NewKeyFromBytes(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, keyError(-1, fmt.Sprintf("key is %d bytes, want %d", len(b), KeySize))
	}
	return newKey([KeySize]byte(b)), nil
}

// ParseKey parses a PASERK k4.local string ("k4.local." followed by the
// unpadded base64url encoding of 32 bytes). The error, a [*KeyError], says
// what is wrong without repeating the input.
func ParseKey(s string) (Key, error) {
	return parseKey(s, -1)
}

func parseKey(s string, index int) (Key, error) {
	if !strings.HasPrefix(s, paserkLocalPrefix) {
		switch {
		case s == "":
			return Key{}, keyError(index, "empty key")
		case len(s) >= 3 && s[0] == 'k' && s[2] == '.' && s[1] != '4':
			return Key{}, keyError(index, "wrong PASERK version "+fmt.Sprintf("%q", s[:2])+", want k4.local.")
		case strings.HasPrefix(s, "k4."):
			return Key{}, keyError(index, "wrong PASERK type, want k4.local.")
		default:
			return Key{}, keyError(index, "not a PASERK key, want prefix k4.local.")
		}
	}
	enc := s[len(paserkLocalPrefix):]
	if strings.ContainsRune(enc, '=') {
		return Key{}, keyError(index, "padded base64, want unpadded base64url")
	}
	if len(enc) != b64.EncodedLen(KeySize) {
		return Key{}, keyError(index, fmt.Sprintf("wrong key length (%d characters after the prefix, want %d)", len(enc), b64.EncodedLen(KeySize)))
	}
	var b [KeySize]byte
	if n, err := b64.Decode(b[:], []byte(enc)); err != nil || n != KeySize {
		return Key{}, keyError(index, "key is not canonical unpadded base64url")
	}
	return newKey(b), nil
}

func newKey(b [KeySize]byte) Key {
	secret, err := paseto.V4SymmetricKeyFromBytes(b[:])
	if err != nil {
		panic("tokensession: internal error: " + err.Error())
	}
	id := lid(b)
	footer := format.Footer(id)
	return Key{k: &keyMaterial{
		secret:    &secret,
		raw:       &b,
		id:        id,
		footer:    footer,
		encFooter: b64.EncodeToString(footer),
	}}
}

func paserkLocal(b *[KeySize]byte) string {
	return paserkLocalPrefix + b64.EncodeToString(b[:])
}

// lid computes the PASERK k4.lid of a key: "k4.lid." and the base64url
// BLAKE2b-264 digest of "k4.lid." followed by the key's k4.local string.
func lid(b [KeySize]byte) string {
	h, err := blake2b.New(33, nil)
	if err != nil {
		panic("tokensession: internal error: " + err.Error())
	}
	h.Write([]byte(paserkLIDPrefix))
	h.Write([]byte(paserkLocal(&b)))
	return paserkLIDPrefix + b64.EncodeToString(h.Sum(nil))
}

// IsValid reports whether k holds a key (is not the zero Key).
func (k Key) IsValid() bool { return k.k != nil }

func (k Key) mustValid() *keyMaterial {
	if k.k == nil {
		panic("tokensession: use of zero Key")
	}
	return k.k
}

// ID returns the key's PASERK k4.lid ID. It is safe to log and to show.
// It returns "" for the zero Key.
func (k Key) ID() string {
	if k.k == nil {
		return ""
	}
	return k.k.id
}

// Equal reports whether k and other hold the same secret, in constant time.
func (k Key) Equal(other Key) bool {
	if k.k == nil || other.k == nil {
		return k.k == other.k
	}
	return subtle.ConstantTimeCompare(k.k.raw[:], other.k.raw[:]) == 1
}

// UnsafeExportPASERK returns the key's secret as a PASERK k4.local string.
// Anyone holding it can read and forge every session sealed with the key:
// write it only to a secret store or a keyring file with mode 0600.
// It panics on the zero Key.
func (k Key) UnsafeExportPASERK() string {
	m := k.mustValid()
	return paserkLocal(m.raw)
}

// String returns "tokensession.Key(" + the key's ID + ")".
func (k Key) String() string {
	if k.k == nil {
		return "tokensession.Key(invalid)"
	}
	return "tokensession.Key(" + k.k.id + ")"
}

// Format implements [fmt.Formatter] so that every verb, %#v, %x and %q
// included, prints only [Key.String].
func (k Key) Format(f fmt.State, verb rune) {
	s := k.String()
	if verb == 'q' {
		s = fmt.Sprintf("%q", s)
	}
	f.Write([]byte(s))
}

// MarshalText encodes the key as its ID, so that [encoding/json] (which
// writes it as a JSON string), other text encoders and maps keyed by Key
// never write the secret. There is deliberately no UnmarshalText.
func (k Key) MarshalText() ([]byte, error) {
	return []byte(k.ID()), nil
}
