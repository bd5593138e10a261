package format_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"

	"github.com/tokensession/tokensession/internal/format"
)

var b64 = base64.RawURLEncoding

// testKID has the shape of a k4.lid key ID.
var testKID = "k4.lid." + b64.EncodeToString([]byte("a 33-byte stand-in for a digest.."))

func testKey(t testing.TB) *paseto.V4SymmetricKey {
	t.Helper()
	b := make([]byte, 32)
	for i := range b {
		b[i] = 0x70 + byte(i)
	}
	k, err := paseto.V4SymmetricKeyFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return &k
}

// seal encrypts claims, a JSON text, as another PASETO implementation
// could: whatever the claims say.
func seal(t testing.TB, key *paseto.V4SymmetricKey, claims string, implicit []byte) string {
	t.Helper()
	tok, err := paseto.NewTokenFromClaimsJSON([]byte(claims), format.Footer(testKID))
	if err != nil {
		t.Fatalf("claims %s: %v", claims, err)
	}
	return tok.V4Encrypt(*key, implicit)
}

const goodClaims = `{"created":"2026-03-01T11:00:00.25Z","data":{"user":"x"},"exp":"2026-03-01T12:20:00Z","iat":"2026-03-01T11:50:00Z","sid":"c2Vzc2lvbi1pZC0xMjM0NQ"}`

func TestFooterKeyID(t *testing.T) {
	enc := b64.EncodeToString(format.Footer(testKID))
	if kid, err := format.FooterKeyID(enc); err != nil || kid != testKID {
		t.Fatalf("FooterKeyID(footer of %s) = %q, %v", testKID, kid, err)
	}
	for name, footer := range map[string]string{
		"empty":             "",
		"padded":            base64.URLEncoding.EncodeToString(format.Footer(testKID)),
		"standard base64":   strings.NewReplacer("-", "+", "_", "/").Replace(enc) + "+",
		"space before kid":  b64.EncodeToString([]byte(`{ "kid":"` + testKID + `"}`)),
		"other name":        b64.EncodeToString([]byte(`{"kig":"` + testKID + `"}`)),
		"kid not k4.lid":    b64.EncodeToString([]byte(`{"kid":"k4.pid.` + testKID[7:] + `"}`)),
		"kid bad character": b64.EncodeToString([]byte(`{"kid":"` + testKID[:50] + `*"}`)),
		"trailing junk":     enc + "AA",
		"non-canonical end": enc[:len(enc)-1] + string(enc[len(enc)-1]+1),
	} {
		if kid, err := format.FooterKeyID(footer); err != format.ErrFooter || kid != "" {
			t.Errorf("%s: FooterKeyID = %q, %v; want ErrFooter", name, kid, err)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in, payload, footer string
		err                 error
	}{
		{"v4.local.AAAA.BBBB", "AAAA", "BBBB", nil},
		{"v4.local.AAAA.", "AAAA", "", nil},
		{"v4.local.AAAA", "", "", format.ErrNoFooter},
		{"v4.public.AAAA.BBBB", "", "", format.ErrHeader},
		{"V4.LOCAL.AAAA.BBBB", "", "", format.ErrHeader},
		{"", "", "", format.ErrHeader},
	} {
		p, f, err := format.Split(tc.in)
		if p != tc.payload || f != tc.footer || err != tc.err {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q, %v", tc.in, p, f, err, tc.payload, tc.footer, tc.err)
		}
	}
}

// CanonicalPayload agrees with a strict base64url decoder on payloads long
// enough to hold a nonce and a tag.
func TestCanonicalPayload(t *testing.T) {
	good := b64.EncodeToString(make([]byte, 70)) // 70 % 3 == 1: two spare bits
	for _, tc := range []struct {
		name string
		s    string
		want bool
	}{
		{"canonical", good, true},
		{"canonical, no spare bits", b64.EncodeToString(make([]byte, 69)), true},
		{"canonical, four spare bits", b64.EncodeToString(make([]byte, 71)), true},
		{"too short", b64.EncodeToString(make([]byte, 64)), false},
		{"spare bits set", good[:len(good)-1] + "B", false},
		{"impossible length", good + "AAA", false},
		{"padding", good + "==", false},
		{"standard alphabet", "+" + good[1:], false},
		{"newline", good[:10] + "\n" + good[11:], false},
		{"carriage return", good[:10] + "\r" + good[11:], false},
		{"NUL", good[:10] + "\x00" + good[11:], false},
	} {
		if got := format.CanonicalPayload(tc.s); got != tc.want {
			t.Errorf("%s: CanonicalPayload = %v, want %v", tc.name, got, tc.want)
		}
		_, err := base64.RawURLEncoding.Strict().DecodeString(tc.s)
		if decodes := err == nil && len(tc.s) > 88; decodes != tc.want {
			t.Errorf("%s: strict decoder: %v, want accepted = %v", tc.name, err, tc.want)
		}
	}
}

func TestIsSessionID(t *testing.T) {
	for sid, want := range map[string]bool{
		"c2Vzc2lvbi1pZC0xMjM0NQ": true,
		"A":                      true,
		strings.Repeat("-_", 32): true,
		"":                       false,
		strings.Repeat("A", 65):  false,
		"c2Vz c2lv":              false,
		"c2Vz\nc2lv":             false,
		"c2Vz+c2lv":              false,
		"c2Vzc2lv==":             false,
		"c2Vzé":                  false,
	} {
		if got := format.IsSessionID(sid); got != want {
			t.Errorf("IsSessionID(%q) = %v, want %v", sid, got, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for s, want := range map[string]time.Time{
		"2026-03-01T12:20:00Z":           time.Date(2026, 3, 1, 12, 20, 0, 0, time.UTC),
		"2026-03-01T12:20:00.123456789Z": time.Date(2026, 3, 1, 12, 20, 0, 123456789, time.UTC),
	} {
		if got, err := format.ParseTime(s); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "2026-03-01T12:20:00", "2026-03-01T12:20:00+00:00", "2026-03-01T12:20:00-00:00", "2026-03-01T12:20:00z", "2026-03-01Z", "tomorrow Z"} {
		if _, err := format.ParseTime(s); err != format.ErrTime {
			t.Errorf("ParseTime(%q): err = %v, want ErrTime", s, err)
		}
	}
}

// Open reads what the claims say, whatever the time, and classifies every
// failure. (Authentic claims that are not a JSON object, which go-paseto
// cannot seal, are covered by the library's TestFormatBadClaims.)
func TestOpen(t *testing.T) {
	key := testKey(t)
	implicit := format.Implicit("__Host-session")
	tok := seal(t, key, goodClaims, implicit)
	c, err := format.Open(key, tok, implicit)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Expires.Equal(time.Date(2026, 3, 1, 12, 20, 0, 0, time.UTC)) ||
		!c.IssuedAt.Equal(time.Date(2026, 3, 1, 11, 50, 0, 0, time.UTC)) ||
		!c.Created.Equal(time.Date(2026, 3, 1, 11, 0, 0, 250e6, time.UTC)) ||
		c.SessionID != "c2Vzc2lvbi1pZC0xMjM0NQ" {
		t.Errorf("claims = %+v", c)
	}
	if data, err := c.Data(); err != nil || string(data) != `{"user":"x"}` {
		t.Errorf("Data = %s, %v", data, err)
	}

	// Long expired opens: time is the caller's business.
	old := strings.ReplaceAll(goodClaims, "2026-", "2001-")
	if _, err := format.Open(key, seal(t, key, old, implicit), implicit); err != nil {
		t.Errorf("a token from 2001: %v", err)
	}
	null := strings.Replace(goodClaims, `{"user":"x"}`, "null", 1)
	if c, err := format.Open(key, seal(t, key, null, implicit), implicit); err != nil {
		t.Errorf("data null: %v", err)
	} else if data, err := c.Data(); err != nil || string(data) != "null" {
		t.Errorf("data null: Data = %s, %v", data, err)
	}
	noData := strings.Replace(goodClaims, `"data":{"user":"x"},`, "", 1)
	if c, err := format.Open(key, seal(t, key, noData, implicit), implicit); err != nil {
		t.Errorf("no data: %v", err)
	} else if _, err := c.Data(); err != format.ErrClaims {
		t.Errorf("no data: Data err = %v, want ErrClaims", err)
	}

	other, err := paseto.V4SymmetricKeyFromBytes(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	payload, footer, _ := format.Split(tok)
	// Another base64url character in the middle: still canonical, no
	// longer authentic. (XOR of the character could leave the alphabet.)
	flipped := []byte(payload)
	if flipped[40] == 'A' {
		flipped[40] = 'B'
	} else {
		flipped[40] = 'A'
	}
	for _, tc := range []struct {
		name     string
		key      *paseto.V4SymmetricKey
		tok      string
		implicit []byte
		want     error
	}{
		{"other key", &other, tok, implicit, format.ErrNotAuthentic},
		{"other purpose", key, tok, format.Implicit("session"), format.ErrNotAuthentic},
		{"altered payload", key, format.Header + string(flipped) + "." + footer, implicit, format.ErrNotAuthentic},
		{"payload not base64url", key, format.Header + payload[:40] + "*" + payload[41:] + "." + footer, implicit, format.ErrPayload},
		{"not a token", key, "hello", implicit, format.ErrNotAuthentic},
	} {
		if _, err := format.Open(tc.key, tc.tok, tc.implicit); err != tc.want {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	for name, claims := range map[string]string{
		"no exp":          strings.Replace(goodClaims, `"exp":"2026-03-01T12:20:00Z",`, "", 1),
		"exp a number":    strings.Replace(goodClaims, `"exp":"2026-03-01T12:20:00Z"`, `"exp":1772370000`, 1),
		"no sid":          strings.Replace(goodClaims, `,"sid":"c2Vzc2lvbi1pZC0xMjM0NQ"`, "", 1),
		"iat with offset": strings.Replace(goodClaims, `11:50:00Z`, `11:50:00+00:00`, 1),
		"sid with escape": strings.Replace(goodClaims, `c2Vzc2lvbi1pZC0xMjM0NQ`, `\u001b[2J`, 1),
	} {
		want := map[string]error{"iat with offset": format.ErrTime, "sid with escape": format.ErrSessionID}[name]
		if want == nil {
			want = format.ErrClaims
		}
		if _, err := format.Open(key, seal(t, key, claims, implicit), implicit); err != want {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
}

var formatErrors = []error{
	format.ErrHeader, format.ErrNoFooter, format.ErrPayload, format.ErrFooter,
	format.ErrNotAuthentic, format.ErrClaims, format.ErrTime, format.ErrSessionID,
}

// FuzzFooterKeyID: a footer is accepted only in its one canonical
// encoding, and no error is other than ErrFooter.
func FuzzFooterKeyID(f *testing.F) {
	f.Add(b64.EncodeToString(format.Footer(testKID)))
	f.Add(b64.EncodeToString([]byte(`{"kid":"k4.lid.` + strings.Repeat("_", 44) + `"}`)))
	f.Add("")
	f.Fuzz(func(t *testing.T, footer string) {
		kid, err := format.FooterKeyID(footer)
		if err != nil {
			if err != format.ErrFooter || kid != "" {
				t.Fatalf("FooterKeyID = %q, %v", kid, err)
			}
			return
		}
		if !format.IsKeyID(kid) || b64.EncodeToString(format.Footer(kid)) != footer {
			t.Fatalf("accepted %q as naming %q", footer, kid)
		}
	})
}

// FuzzOpen: Open never panics, fails only with the package's errors, and
// what it accepts has the format's shape.
func FuzzOpen(f *testing.F) {
	key := testKey(f)
	implicit := format.Implicit("__Host-session")
	f.Add(seal(f, key, goodClaims, implicit))
	f.Add(seal(f, key, `{"exp":"x"}`, implicit))
	f.Add("v4.local.")
	f.Add("")
	f.Fuzz(func(t *testing.T, tainted string) {
		c, err := format.Open(key, tainted, implicit)
		if err != nil {
			for _, e := range formatErrors {
				if err == e {
					return
				}
			}
			t.Fatalf("Open: error %v is not one of the package's", err)
		}
		if !format.IsSessionID(c.SessionID) || c.Expires.Location() != time.UTC || c.Created.Location() != time.UTC {
			t.Fatalf("Open accepted claims %+v", c)
		}
		if _, err := format.Decrypt(key, tainted, implicit); err != nil {
			t.Fatalf("Decrypt fails what Open accepts: %v", err)
		}
	})
}

func TestErrorsDistinct(t *testing.T) {
	for i, a := range formatErrors {
		for _, b := range formatErrors[i+1:] {
			if errors.Is(a, b) || a.Error() == b.Error() {
				t.Errorf("%v and %v are not distinct", a, b)
			}
		}
	}
}
