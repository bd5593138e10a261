package tokensession_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"

	"github.com/tokensession/tokensession"
)

// The official PASETO and PASERK vectors (testdata/vectors, see SOURCES.md)
// run through the package's key functions and through go-paseto, and a
// from-spec reference implementation of v4.local, written here without
// looking at either, must reproduce them byte for byte. The reference then
// checks that Manager tokens follow the documented format (internal/format
// and the README), which is what lets another language read a session.

type paserkVector struct {
	Name       string  `json:"name"`
	ExpectFail bool    `json:"expect-fail"`
	Key        *string `json:"key"`
	Paserk     *string `json:"paserk"`
}

// v4Vector is one case of v4.json. Public cases (4-S-*) have other fields
// (public-key, secret-key, …) and an empty Key.
type v4Vector struct {
	Name       string  `json:"name"`
	ExpectFail bool    `json:"expect-fail"`
	Key        string  `json:"key"`
	Nonce      string  `json:"nonce"`
	Token      string  `json:"token"`
	Payload    *string `json:"payload"`
	Footer     string  `json:"footer"`
	Implicit   string  `json:"implicit-assertion"`
}

func loadVectors[V any](t *testing.T, name string) []V {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tests []V `json:"tests"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(f.Tests) == 0 {
		t.Fatalf("%s: no tests", name)
	}
	return f.Tests
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vector: %v", err)
	}
	return b
}

func TestVectorsK4Local(t *testing.T) {
	for _, tc := range loadVectors[paserkVector](t, "k4.local.json") {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			if tc.Paserk == nil {
				t.Fatal("vector has no paserk")
			}
			k, err := tokensession.ParseKey(*tc.Paserk)
			if tc.ExpectFail {
				if err == nil {
					t.Fatalf("ParseKey accepted %q", *tc.Paserk)
				}
				if !errors.Is(err, tokensession.ErrInvalidKey) {
					t.Errorf("ParseKey error %v does not match ErrInvalidKey", err)
				}
				if k.IsValid() {
					t.Error("ParseKey returned a valid Key with its error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if got := k.UnsafeExportPASERK(); got != *tc.Paserk {
				t.Errorf("ParseKey(…).UnsafeExportPASERK() = %q, want %q", got, *tc.Paserk)
			}
			fromBytes, err := tokensession.NewKeyFromBytes(mustHex(t, *tc.Key))
			if err != nil {
				t.Fatalf("NewKeyFromBytes: %v", err)
			}
			if got := fromBytes.UnsafeExportPASERK(); got != *tc.Paserk {
				t.Errorf("NewKeyFromBytes(…).UnsafeExportPASERK() = %q, want %q", got, *tc.Paserk)
			}
			if !fromBytes.Equal(k) || fromBytes.ID() != k.ID() {
				t.Error("the key parsed from PASERK differs from the key made from its bytes")
			}
		})
	}
}

func TestVectorsK4LID(t *testing.T) {
	for _, tc := range loadVectors[paserkVector](t, "k4.lid.json") {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			if tc.Key == nil {
				t.Fatal("vector has no key")
			}
			k, err := tokensession.NewKeyFromBytes(mustHex(t, *tc.Key))
			if tc.ExpectFail {
				if err == nil {
					t.Fatalf("NewKeyFromBytes accepted a %d-byte key", len(*tc.Key)/2)
				}
				var ke *tokensession.KeyError
				if !errors.As(err, &ke) || !errors.Is(err, tokensession.ErrInvalidKey) || ke.Index != -1 {
					t.Errorf("NewKeyFromBytes error = %#v, want a *KeyError with Index -1 matching ErrInvalidKey", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewKeyFromBytes: %v", err)
			}
			if got := k.ID(); got != *tc.Paserk {
				t.Errorf("ID() = %q, want %q", got, *tc.Paserk)
			}
			if got := refLID(k.UnsafeExportPASERK()); got != *tc.Paserk {
				t.Errorf("reference k4.lid = %q, want %q", got, *tc.Paserk)
			}
			parsed, err := tokensession.ParseKey(k.UnsafeExportPASERK())
			if err != nil {
				t.Fatal(err)
			}
			if parsed.ID() != *tc.Paserk {
				t.Errorf("ParseKey(…).ID() = %q, want %q", parsed.ID(), *tc.Paserk)
			}
		})
	}
}

func TestVectorsV4Local(t *testing.T) {
	var pass, fail int
	for _, tc := range loadVectors[v4Vector](t, "v4.json") {
		if tc.Key == "" {
			continue // a v4.public case: no symmetric key
		}
		if tc.ExpectFail {
			fail++
		} else {
			pass++
		}
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			rawKey := mustHex(t, tc.Key)
			key, err := paseto.V4SymmetricKeyFromBytes(rawKey)
			if err != nil {
				t.Fatal(err)
			}
			parser := paseto.NewParserWithoutExpiryCheck()
			implicit := []byte(tc.Implicit)

			if tc.ExpectFail {
				if _, err := parser.ParseV4Local(key, tc.Token, implicit); err == nil {
					t.Error("go-paseto accepted an expect-fail token")
				}
				if _, _, err := refDecrypt(rawKey, tc.Token, implicit); err == nil {
					t.Error("reference implementation accepted an expect-fail token")
				}
				return
			}
			if tc.Payload == nil {
				t.Fatal("vector has no payload")
			}

			tok, err := parser.ParseV4Local(key, tc.Token, implicit)
			if err != nil {
				t.Fatalf("go-paseto: %v", err)
			}
			var got, want any
			if err := json.Unmarshal(tok.ClaimsJSON(), &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(*tc.Payload), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("go-paseto payload mismatch (-want +got):\n%s", diff)
			}
			if string(tok.Footer()) != tc.Footer {
				t.Errorf("go-paseto footer = %q, want %q", tok.Footer(), tc.Footer)
			}
			if _, err := parser.ParseV4Local(key, tc.Token, append(implicit, 'x')); err == nil {
				t.Error("go-paseto accepted the token with another implicit assertion")
			}

			// Deterministic encryption: key + nonce + message gives the token.
			nonce := mustHex(t, tc.Nonce)
			if got := refEncrypt(rawKey, nonce, []byte(*tc.Payload), []byte(tc.Footer), implicit); got != tc.Token {
				t.Errorf("reference encryption:\n got %s\nwant %s", got, tc.Token)
			}
			msg, footer, err := refDecrypt(rawKey, tc.Token, implicit)
			if err != nil {
				t.Fatalf("reference decryption: %v", err)
			}
			if string(msg) != *tc.Payload || string(footer) != tc.Footer {
				t.Errorf("reference decryption = %q, %q; want %q, %q", msg, footer, *tc.Payload, tc.Footer)
			}
			if _, _, err := refDecrypt(rawKey, tc.Token, append(implicit, 'x')); err == nil {
				t.Error("reference implementation accepted another implicit assertion")
			}
		})
	}
	// v4.json holds 9 v4.local successes and 4 local failures (4-F-2…5).
	if pass != 9 || fail != 4 {
		t.Errorf("ran %d passing and %d failing v4.local vectors, want 9 and 4", pass, fail)
	}
}

// ---------------------------------------------------------------------------
// A from-spec reference implementation of PASETO v4.local and PASERK k4.lid
// (paseto-spec docs/01-Protocol-Versions/Version4.md, docs/01-Protocol-
// Versions/Common.md#pae, paserk operations/ID.md). Test code only.

const refHeader = "v4.local."

var refB64 = base64.RawURLEncoding.Strict()

// refLE64 is the spec's LE64: little-endian, most significant bit cleared.
func refLE64(n uint64) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], n&^(1<<63))
	return b[:]
}

// refPAE is pre-authentication encoding: LE64 of the piece count, then
// LE64 of each piece's length followed by the piece.
func refPAE(pieces ...[]byte) []byte {
	out := refLE64(uint64(len(pieces)))
	for _, p := range pieces {
		out = append(out, refLE64(uint64(len(p)))...)
		out = append(out, p...)
	}
	return out
}

func refHash(size int, key []byte, msg ...[]byte) []byte {
	h, err := blake2b.New(size, key)
	if err != nil {
		panic(err)
	}
	for _, m := range msg {
		h.Write(m)
	}
	return h.Sum(nil)
}

// refSplitKey derives the encryption key, XChaCha20 nonce and
// authentication key from the key and the token nonce.
func refSplitKey(key, nonce []byte) (ek, n2, ak []byte) {
	tmp := refHash(56, key, []byte("paseto-encryption-key"), nonce)
	return tmp[:32], tmp[32:], refHash(32, key, []byte("paseto-auth-key-for-aead"), nonce)
}

func refXChaCha(ek, n2, in []byte) []byte {
	c, err := chacha20.NewUnauthenticatedCipher(ek, n2)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(in))
	c.XORKeyStream(out, in)
	return out
}

// refEncrypt is v4.local Encrypt with a given 32-byte nonce.
func refEncrypt(key, nonce, msg, footer, implicit []byte) string {
	ek, n2, ak := refSplitKey(key, nonce)
	c := refXChaCha(ek, n2, msg)
	tag := refHash(32, ak, refPAE([]byte(refHeader), nonce, c, footer, implicit))
	tok := refHeader + refB64.EncodeToString(slices.Concat(nonce, c, tag))
	if len(footer) > 0 {
		tok += "." + refB64.EncodeToString(footer)
	}
	return tok
}

// refSeal is refEncrypt with a random nonce, as a real implementation does.
func refSeal(key, msg, footer, implicit []byte) string {
	nonce := make([]byte, 32)
	rand.Read(nonce)
	return refEncrypt(key, nonce, msg, footer, implicit)
}

var errRef = errors.New("reference v4.local: invalid token")

// refDecrypt is v4.local Decrypt. It returns the message and the footer.
func refDecrypt(key []byte, token string, implicit []byte) (msg, footer []byte, err error) {
	if !strings.HasPrefix(token, refHeader) || strings.ContainsAny(token, "\r\n") {
		return nil, nil, errRef // the Strict decoder would skip CR and LF
	}
	parts := strings.Split(token[len(refHeader):], ".")
	if len(parts) > 2 {
		return nil, nil, errRef
	}
	payload, err := refB64.DecodeString(parts[0])
	if err != nil || len(payload) < 64 {
		return nil, nil, errRef
	}
	if len(parts) == 2 {
		if footer, err = refB64.DecodeString(parts[1]); err != nil {
			return nil, nil, errRef
		}
	}
	n, c, t := payload[:32], payload[32:len(payload)-32], payload[len(payload)-32:]
	ek, n2, ak := refSplitKey(key, n)
	want := refHash(32, ak, refPAE([]byte(refHeader), n, c, footer, implicit))
	if !hmac.Equal(t, want) {
		return nil, nil, errRef
	}
	return refXChaCha(ek, n2, c), footer, nil
}

// refLID is PASERK k4.lid: "k4.lid." + base64url(BLAKE2b-264("k4.lid." + paserk)).
func refLID(paserk string) string {
	return "k4.lid." + refB64.EncodeToString(refHash(33, nil, []byte("k4.lid."), []byte(paserk)))
}

// refKeyBytes returns the 32 bytes of a key through its PASERK export only.
func refKeyBytes(t testing.TB, k tokensession.Key) []byte {
	t.Helper()
	s, ok := strings.CutPrefix(k.UnsafeExportPASERK(), "k4.local.")
	if !ok {
		t.Fatal("export does not start with k4.local.")
	}
	b, err := refB64.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("export is not 32 bytes of base64url: %v", err)
	}
	return b
}

// ---------------------------------------------------------------------------
// The token format (internal/format and the README), checked with the
// reference implementation.

var (
	rfc3339UTCSeconds = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	// created, as time.RFC3339Nano writes it: no trailing zeros.
	rfc3339UTCNano = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$`)
)

type account struct {
	User  string   `json:"user"`
	Roles []string `json:"roles,omitempty"`
}

func TestFormatSealReadableBySpec(t *testing.T) {
	key := vectorKey(t)
	ring := mustRing(t, tokensession.KeyringEntry{Key: key})
	// 2026-01-01T00:00:00.75Z, on a clock in another zone: the claims must
	// be UTC, whole seconds but for created.
	now := time.Date(2026, 1, 1, 1, 0, 0, 750_000_000, time.FixedZone("CET", 3600))
	value := account{User: "ada", Roles: []string{"admin"}}

	cases := []struct {
		name     string
		cfg      tokensession.Config[account]
		implicit string
	}{
		{"default", tokensession.Config[account]{}, "tokensession/v1:__Host-session"},
		{"purpose", tokensession.Config[account]{Purpose: "api"}, "tokensession/v1:api"},
		{"cookie name", tokensession.Config[account]{CookieName: "__Secure-app"}, "tokensession/v1:__Secure-app"},
		{"chunked", tokensession.Config[account]{MaxChunks: 4}, "tokensession/v1:__Host-session"},
		{"purpose over cookie name", tokensession.Config[account]{CookieName: "app", Purpose: "ws"}, "tokensession/v1:ws"},
		// Sealing takes another path without the open cache (the value is
		// marshalled straight into its claim) and with another codec.
		{"no open cache", tokensession.Config[account]{OpenCacheBytes: -1}, "tokensession/v1:__Host-session"},
		{"other JSON codec", tokensession.Config[account]{Codec: otherJSONCodec{}}, "tokensession/v1:__Host-session"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Keyring = ring
			cfg.Now = func() time.Time { return now }
			m := mustNew(t, cfg)
			tok, _, err := m.Seal(value)
			if err != nil {
				t.Fatal(err)
			}

			wantFooter := `{"kid":"` + key.ID() + `"}`
			if !strings.HasSuffix(tok, "."+refB64.EncodeToString([]byte(wantFooter))) {
				t.Errorf("token does not end with the base64url footer %s", wantFooter)
			}
			msg, footer, err := refDecrypt(refKeyBytes(t, key), tok, []byte(tc.implicit))
			if err != nil {
				t.Fatalf("reference implementation cannot open a sealed token with implicit assertion %q: %v", tc.implicit, err)
			}
			if string(footer) != wantFooter {
				t.Errorf("footer = %s, want %s", footer, wantFooter)
			}
			for _, other := range []string{"", "tokensession/v1:", "tokensession/v1:session", tc.implicit + ".0"} {
				if _, _, err := refDecrypt(refKeyBytes(t, key), tok, []byte(other)); err == nil {
					t.Errorf("token also opens with implicit assertion %q", other)
				}
			}

			var claims map[string]json.RawMessage
			if err := json.Unmarshal(msg, &claims); err != nil {
				t.Fatalf("claims are not a JSON object: %v", err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, msg); err != nil || !bytes.Equal(compact.Bytes(), msg) {
				t.Errorf("claims are not compact JSON: %s", msg)
			}
			if order := claimOrder(t, msg); !slices.IsSorted(order) {
				t.Errorf("claims are not in name order: %v", order)
			}
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range claims {
					if !yield(k) {
						return
					}
				}
			})
			if want := []string{"created", "data", "exp", "iat", "sid"}; !slices.Equal(names, want) {
				t.Errorf("claim names = %v, want %v", names, want)
			}
			str := func(name string) string {
				var s string
				if err := json.Unmarshal(claims[name], &s); err != nil {
					t.Errorf("claim %q is not a string: %s", name, claims[name])
				}
				return s
			}
			for name, want := range map[string]string{
				"iat":     "2026-01-01T00:00:00Z",
				"created": "2026-01-01T00:00:00.75Z",
				"exp":     "2026-01-01T00:30:00Z",
			} {
				got := str(name)
				format := rfc3339UTCSeconds
				if name == "created" {
					format = rfc3339UTCNano
				}
				if got != want || !format.MatchString(got) {
					t.Errorf("claim %q = %q, want %q", name, got, want)
				}
			}
			sid := str("sid")
			if raw, err := refB64.DecodeString(sid); len(sid) != 22 || err != nil || len(raw) != 16 {
				t.Errorf("sid %q is not 22 characters of base64url of 128 bits", sid)
			}
			var data any
			if err := json.Unmarshal(claims["data"], &data); err != nil {
				t.Fatal(err)
			}
			wantData := map[string]any{"user": "ada", "roles": []any{"admin"}}
			if diff := cmp.Diff(wantData, data); diff != "" {
				t.Errorf("data claim mismatch (-want +got):\n%s", diff)
			}

			_, info, err := m.Open(tok)
			if err != nil {
				t.Fatal(err)
			}
			if info.ID != sid || info.KeyID != key.ID() {
				t.Errorf("Open Info = %+v, want ID %q and KeyID %q", info, sid, key.ID())
			}
		})
	}
}

func TestFormatSpecTokenOpens(t *testing.T) {
	key := vectorKey(t)
	other := testKey(t, 0x10)
	ring := mustRing(t, tokensession.KeyringEntry{Key: other}, tokensession.KeyringEntry{Key: key})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return now }})
	footer := []byte(`{"kid":"` + key.ID() + `"}`)
	implicit := []byte("tokensession/v1:__Host-session")

	// What another implementation might write: claims in any order, with
	// or without white space (Python's json.dumps puts spaces in).
	claims := []string{
		`{"sid":"c2Vzc2lvbi1pZC0xMjM0NQ","data":{"user":"grace","roles":["ops","dev"]},` +
			`"exp":"2026-03-01T12:20:00Z","iat":"2026-03-01T11:50:00Z","created":"2026-03-01T08:00:00Z"}`,
		`{"exp": "2026-03-01T12:20:00Z", "iat": "2026-03-01T11:50:00Z", "created": "2026-03-01T08:00:00Z", ` +
			`"sid": "c2Vzc2lvbi1pZC0xMjM0NQ", "data": {"roles": ["ops", "dev"], "user": "grace"}}`,
	}
	for i, c := range claims {
		tok := refSeal(refKeyBytes(t, key), []byte(c), footer, implicit)
		v, info, err := m.Open(tok)
		if err != nil {
			t.Fatalf("claims %d: Open of a reference-sealed token: %v", i, err)
		}
		if diff := cmp.Diff(account{User: "grace", Roles: []string{"ops", "dev"}}, v); diff != "" {
			t.Errorf("claims %d: value mismatch (-want +got):\n%s", i, diff)
		}
		want := tokensession.Info{
			ID:       "c2Vzc2lvbi1pZC0xMjM0NQ",
			Created:  time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
			IssuedAt: time.Date(2026, 3, 1, 11, 50, 0, 0, time.UTC),
			Expires:  time.Date(2026, 3, 1, 12, 20, 0, 0, time.UTC),
			KeyID:    key.ID(),
		}
		if diff := cmp.Diff(want, info); diff != "" {
			t.Errorf("claims %d: Info mismatch (-want +got):\n%s", i, diff)
		}
	}

	// The same claims sealed with another implicit assertion, or a footer
	// written differently, do not open.
	if _, _, err := m.Open(refSeal(refKeyBytes(t, key), []byte(claims[0]), footer, []byte("tokensession/v1:api"))); !errors.Is(err, tokensession.ErrNotAuthentic) {
		t.Errorf("token for another purpose: err = %v, want ErrNotAuthentic", err)
	}
	spaced := []byte(`{"kid": "` + key.ID() + `"}`)
	if _, _, err := m.Open(refSeal(refKeyBytes(t, key), []byte(claims[0]), spaced, implicit)); !errors.Is(err, tokensession.ErrMalformed) {
		t.Errorf("footer with a space: err = %v, want ErrMalformed", err)
	}
	if _, _, err := m.Open(refSeal(refKeyBytes(t, key), []byte(claims[0]), nil, implicit)); !errors.Is(err, tokensession.ErrMalformed) {
		t.Errorf("token without footer: err = %v, want ErrMalformed", err)
	}
}

// TestFormatBadClaims seals authentic tokens whose claims break the format:
// they must be rejected as malformed (or expired), never accepted and never
// reported as forgeries.
func TestFormatBadClaims(t *testing.T) {
	key := vectorKey(t)
	ring := mustRing(t, tokensession.KeyringEntry{Key: key})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// The data claim is read three ways: straight into the value
	// (encoding/json, no cache), through its bytes for the open cache, and
	// through its bytes for any other codec.
	managers := map[string]*tokensession.Manager[account]{
		"default":          mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return now }}),
		"no cache":         mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return now }, OpenCacheBytes: -1}),
		"other JSON codec": mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return now }, OpenCacheBytes: -1, Codec: otherJSONCodec{}}),
	}
	footer := []byte(`{"kid":"` + key.ID() + `"}`)
	implicit := []byte("tokensession/v1:__Host-session")
	const (
		sid     = `"sid":"c2Vzc2lvbi1pZC0xMjM0NQ"`
		data    = `"data":{"user":"x"}`
		created = `"created":"2026-03-01T11:00:00Z"`
		iat     = `"iat":"2026-03-01T11:50:00Z"`
		exp     = `"exp":"2026-03-01T12:20:00Z"`
	)
	obj := func(fields ...string) string { return "{" + strings.Join(fields, ",") + "}" }
	cases := []struct {
		name   string
		claims string
		want   error
		reason string // in the error, when set
	}{
		{"array", `[]`, tokensession.ErrMalformed, ""},
		{"string", `"claims"`, tokensession.ErrMalformed, ""},
		{"null", `null`, tokensession.ErrMalformed, ""},
		{"not JSON", `{"exp":`, tokensession.ErrMalformed, ""},
		{"no exp", obj(sid, data, created, iat), tokensession.ErrMalformed, ""},
		{"no iat", obj(sid, data, created, exp), tokensession.ErrMalformed, ""},
		{"no created", obj(sid, data, iat, exp), tokensession.ErrMalformed, ""},
		{"no sid", obj(data, created, iat, exp), tokensession.ErrMalformed, ""},
		{"empty sid", obj(`"sid":""`, data, created, iat, exp), tokensession.ErrMalformed, ""},
		{"no data", obj(sid, created, iat, exp), tokensession.ErrMalformed, "claims are missing"},
		{"exp not a time", obj(sid, data, created, iat, `"exp":"tomorrow"`), tokensession.ErrMalformed, ""},
		{"exp a number", obj(sid, data, created, iat, `"exp":1772370000`), tokensession.ErrMalformed, ""},
		{"data wrong type", obj(sid, `"data":[1,2]`, created, iat, exp), tokensession.ErrMalformed, "does not decode"},
		{"data wrong field type", obj(sid, `"data":{"user":7}`, created, iat, exp), tokensession.ErrMalformed, "does not decode"},
		{"created after iat", obj(sid, data, `"created":"2026-03-01T11:55:00Z"`, iat, exp), tokensession.ErrMalformed, ""},
		{"iat in the future", obj(sid, data, created, `"iat":"2026-03-01T12:05:00Z"`, exp), tokensession.ErrMalformed, ""},
		// exp far away does not outlive the absolute lifetime (24 h from created).
		{"past absolute lifetime", obj(sid, data, `"created":"2026-02-28T11:59:00Z"`, iat, `"exp":"2027-01-01T00:00:00Z"`), tokensession.ErrExpired, ""},
		// sid: 1 to 64 characters of base64url, as the library makes them.
		{"sid newline", obj(`"sid":"c2Vzc2lvbi1p\nZC0xMjM0NQ"`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		{"sid NUL", obj(`"sid":"c2Vzc2lvbi1p\u0000ZC0xMjM0NQ"`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		{"sid escape", obj(`"sid":"\u001b[2J"`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		{"sid standard base64", obj(`"sid":"c2Vzc2lvbi1p+C0xMjM0NQ"`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		{"sid padded", obj(`"sid":"c2Vzc2lvbi1pZC0xMjM0NQ=="`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		{"sid space", obj(`"sid":"c2Vzc2lvbi1p ZC0xMjM0NQ"`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		{"sid non-ASCII", obj(`"sid":"c2Vzc2lvbi1pé"`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		{"sid too long", obj(`"sid":"`+strings.Repeat("A", 65)+`"`, data, created, iat, exp), tokensession.ErrMalformed, "sid is not"},
		// Times are UTC, written with Z.
		{"created with offset", obj(sid, data, `"created":"2026-03-01T12:00:00+01:00"`, iat, exp), tokensession.ErrMalformed, "RFC 3339 UTC"},
		{"iat with +00:00", obj(sid, data, created, `"iat":"2026-03-01T11:50:00+00:00"`, exp), tokensession.ErrMalformed, "RFC 3339 UTC"},
		{"exp with -00:00", obj(sid, data, created, iat, `"exp":"2026-03-01T12:20:00-00:00"`), tokensession.ErrMalformed, "RFC 3339 UTC"},
		{"exp with lower-case z", obj(sid, data, created, iat, `"exp":"2026-03-01T12:20:00z"`), tokensession.ErrMalformed, "RFC 3339 UTC"},
		{"exp without zone", obj(sid, data, created, iat, `"exp":"2026-03-01T12:20:00"`), tokensession.ErrMalformed, "RFC 3339 UTC"},
		{"exp date only", obj(sid, data, created, iat, `"exp":"2026-03-01Z"`), tokensession.ErrMalformed, "RFC 3339 UTC"},
	}
	for name, m := range managers {
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				tok := refSeal(refKeyBytes(t, key), []byte(tc.claims), footer, implicit)
				v, info, err := m.Open(tok)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Open: err = %v, want %v", err, tc.want)
				}
				if !isSentinel(err) {
					t.Errorf("Open: %v is not exactly one sentinel", err)
				}
				if !strings.Contains(err.Error(), tc.reason) {
					t.Errorf("Open: err = %v, want the reason %q", err, tc.reason)
				}
				if v.User != "" || info != (tokensession.Info{}) {
					t.Errorf("Open returned a value or Info with its error: %+v %+v", v, info)
				}
			})
		}

		// Control: well-formed claims open, at the bounds too.
		for _, claims := range []string{
			obj(sid, data, created, iat, exp),
			obj(sid, data, created, iat, `"exp":"2026-03-01T12:20:30Z"`),
			obj(sid, data, `"created":"2026-02-28T12:20:00Z"`, iat, `"exp":"2026-03-01T12:20:30Z"`),
			obj(sid, data, `"created":"2026-03-01T11:00:00.123456789Z"`, iat, exp),
			obj(sid, data, `"created":"2026-03-01T11:50:00.9Z"`, `"iat":"2026-03-01T11:50:00.5Z"`, `"exp":"2026-03-01T12:20:00.5Z"`),
			obj(`"sid":"A"`, data, created, iat, exp),
			obj(`"sid":"`+strings.Repeat("-_", 32)+`"`, data, created, iat, exp),
		} {
			v, _, err := m.Open(refSeal(refKeyBytes(t, key), []byte(claims), footer, implicit))
			if err != nil || v.User != "x" {
				t.Errorf("%s: well-formed claims %s: %+v, %v", name, claims, v, err)
			}
		}

		// An exp beyond iat + idle timeout or created + absolute lifetime
		// is cut to the earlier of the two, as the opener's timeouts now
		// are: the token opens, reports that expiry (so the middleware
		// refreshes it) and expires there, leeway aside.
		for _, tc := range []struct {
			name, claims string
			want         time.Time
			reason       string // of the expiry
		}{
			{"exp beyond idle timeout", obj(sid, data, created, iat, `"exp":"2026-03-01T12:20:31Z"`), time.Date(2026, 3, 1, 12, 20, 0, 0, time.UTC), "idle expiry"},
			{"exp far away", obj(sid, data, created, iat, `"exp":"2999-01-01T00:00:00Z"`), time.Date(2026, 3, 1, 12, 20, 0, 0, time.UTC), "idle expiry"},
			{"exp beyond absolute lifetime", obj(sid, data, `"created":"2026-02-28T12:10:00Z"`, iat, exp), time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC), "absolute lifetime"},
		} {
			tok := refSeal(refKeyBytes(t, key), []byte(tc.claims), footer, implicit)
			v, info, err := m.Open(tok)
			if err != nil || v.User != "x" || !info.Expires.Equal(tc.want) {
				t.Errorf("%s: %s: Open = %+v, Expires %v, %v; want Expires %v", name, tc.name, v, info.Expires, err, tc.want)
			}
			now = tc.want.Add(tokensession.DefaultLeeway - time.Nanosecond)
			if _, _, err := m.Open(tok); err != nil {
				t.Errorf("%s: %s: just before the capped expiry plus leeway: %v", name, tc.name, err)
			}
			now = tc.want.Add(tokensession.DefaultLeeway)
			if _, _, err := m.Open(tok); !errors.Is(err, tokensession.ErrExpired) || !isSentinel(err) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("%s: %s: at the capped expiry plus leeway: err = %v, want ErrExpired, %s", name, tc.name, err, tc.reason)
			}
			now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		}
	}
}

// claimOrder returns the names of the top-level members of the JSON
// object msg, in the order they appear.
func claimOrder(t *testing.T, msg []byte) []string {
	t.Helper()
	var names []string
	dec := json.NewDecoder(bytes.NewReader(msg))
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		name, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// otherJSONCodec is encoding/json behind another type: a JSON codec that
// the manager does not know as its own.
type otherJSONCodec struct{}

func (otherJSONCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (otherJSONCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (otherJSONCodec) EncodesJSON() bool                  { return true }

func TestRefPAE(t *testing.T) {
	// Examples from the PASETO spec (Common.md, PAE).
	cases := []struct {
		pieces [][]byte
		want   string
	}{
		{nil, "0000000000000000"},
		{[][]byte{{}}, "01000000000000000000000000000000"},
		{[][]byte{[]byte("test")}, "0100000000000000040000000000000074657374"},
	}
	for _, tc := range cases {
		if got := hex.EncodeToString(refPAE(tc.pieces...)); got != tc.want {
			t.Errorf("PAE(%q) = %s, want %s", tc.pieces, got, tc.want)
		}
	}
	if !bytes.Equal(refLE64(1<<63|5), refLE64(5)) {
		t.Error("LE64 must clear the most significant bit")
	}
}
