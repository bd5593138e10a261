package tokensession_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tokensession/tokensession"
)

// The fuzz targets open tokens at a fixed instant with the fixed vector key
// (bytes 0x70…0x8f), so that the valid tokens in testdata/fuzz/FuzzOpen,
// sealed at that instant, stay valid.
var fuzzNow = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

type fuzzSession struct {
	User  string `json:"user"`
	Admin bool   `json:"admin,omitempty"`
	N     int    `json:"n,omitempty"`
}

func fuzzManager[T any](tb testing.TB, codec tokensession.Codec) *tokensession.Manager[T] {
	return mustNew(tb, tokensession.Config[T]{
		Keyring: mustRing(tb, tokensession.KeyringEntry{Key: vectorKey(tb)}),
		Now:     func() time.Time { return fuzzNow },
		Codec:   codec,
	})
}

func FuzzOpen(f *testing.F) {
	m := fuzzManager[fuzzSession](f, nil)
	// More seeds are in testdata/fuzz/FuzzOpen, including tokens sealed
	// in advance; these are made now.
	tok, _, err := m.Seal(fuzzSession{User: "ada", Admin: true, N: 7})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok + ".x")
	f.Add(strings.Replace(tok, "v4.local.", "v2.local.", 1))
	f.Add("")
	f.Add("v4.local.")
	other := mustNew(f, tokensession.Config[fuzzSession]{
		Keyring: mustRing(f, tokensession.KeyringEntry{Key: testKey(f, 1)}),
		Now:     func() time.Time { return fuzzNow },
	})
	tok2, _, err := other.Seal(fuzzSession{User: "eve"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok2)

	f.Fuzz(func(t *testing.T, tainted string) {
		v, info, err := m.Open(tainted)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Open error %v is not exactly one sentinel", err)
			}
			if v != (fuzzSession{}) || info != (tokensession.Info{}) {
				t.Fatalf("Open returned %+v, %+v with its error", v, info)
			}
			return
		}
		// An accepted token opens again identically…
		v2, info2, err := m.Open(tainted)
		if err != nil || v2 != v || info2 != info {
			t.Fatalf("second Open = %+v, %+v, %v; first %+v, %+v", v2, info2, err, v, info)
		}
		// …and its session re-seals to a token that opens to the same value
		// and session, unless only the leeway kept it open.
		tok, rinfo, err := m.Reseal(v, info)
		if errors.Is(err, tokensession.ErrExpired) && !fuzzNow.Before(info.Created.Add(tokensession.DefaultAbsoluteTimeout)) {
			return
		}
		if err != nil {
			t.Fatalf("Reseal of an accepted token: %v", err)
		}
		v3, info3, err := m.Open(tok)
		if err != nil || v3 != v || info3 != rinfo || info3.ID != info.ID || !info3.Created.Equal(info.Created) {
			t.Fatalf("resealed token opens to %+v, %+v, %v; want %+v of session %q", v3, info3, err, v, info.ID)
		}
	})
}

func FuzzSealOpen(f *testing.F) {
	jm := fuzzManager[string](f, nil)
	gm := fuzzManager[string](f, gobCodec{})
	for _, s := range []string{"", "hello", "\x00\xff", `"quoted" \ back`, "\u2028 é 💥", "\xed\xa0\x80", strings.Repeat("x", 3000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// JSON holds text: invalid UTF-8 comes back as U+FFFD, as with
		// encoding/json itself. Gob keeps the bytes.
		jsonWant := s
		if !utf8.ValidString(s) {
			b, _ := json.Marshal(s)
			if err := json.Unmarshal(b, &jsonWant); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			m    *tokensession.Manager[string]
			want string
		}{{"json", jm, jsonWant}, {"gob", gm, s}} {
			name, m, want := tc.name, tc.m, tc.want
			tok, _, err := m.Seal(s)
			if err != nil {
				// Only a value whose encoding is large may be too large:
				// JSON writes each invalid UTF-8 byte as a 6-byte escape.
				encoded := len(s)
				if name == "json" {
					b, _ := json.Marshal(s)
					encoded = len(b)
				}
				var tl *tokensession.TooLargeError
				if !errors.As(err, &tl) || tl.Size <= tl.Limit || encoded < 2000 {
					t.Fatalf("%s: Seal of %d bytes: %v", name, len(s), err)
				}
				continue
			}
			got, info, err := m.Open(tok)
			if err != nil {
				t.Fatalf("%s: Open of a sealed token: %v", name, err)
			}
			if got != want {
				t.Fatalf("%s: round trip %q → %q", name, s, got)
			}
			if info.ID == "" || !info.IssuedAt.Equal(fuzzNow) {
				t.Fatalf("%s: Info %+v", name, info)
			}
		}
	})
}

// secretRuns returns the base64 runs that follow "k4.local." in input and
// are long enough to matter. A key is 43 characters; the library may echo
// an unknown JSON field name of up to 22 characters, which cannot hold one,
// so shorter runs (which also match ordinary words of its messages, like
// "key") are not checked.
func secretRuns(input string) []string {
	var runs []string
	for _, m := range secretRunRE.FindAllStringSubmatch(input, -1) {
		if len(m[1]) >= 23 {
			runs = append(runs, m[1])
		}
	}
	return runs
}

var secretRunRE = regexp.MustCompile(`k4\.local\.([A-Za-z0-9_\-+/=]+)`)

func checkFuzzKeyringError(t *testing.T, input string, err error) {
	t.Helper()
	var ke *tokensession.KeyError
	if !errors.As(err, &ke) || !errors.Is(err, tokensession.ErrInvalidKey) {
		t.Fatalf("error %v is not a *KeyError matching ErrInvalidKey", err)
	}
	for _, run := range secretRuns(input) {
		if strings.Contains(err.Error(), run) {
			t.Fatalf("error %q contains key material %q", err, run)
		}
	}
}

func FuzzParseKeyringEnv(f *testing.F) {
	k1, k2 := vectorKey(f).UnsafeExportPASERK(), testKey(f, 1).UnsafeExportPASERK()
	for _, s := range []string{k1, k1 + " " + k2, "\t" + k2 + "\n" + k1 + "\n", k1 + " " + k1, "k3.local." + k1[9:], k1 + "=", k1[:len(k1)-1], ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, env string) {
		ring, err := tokensession.ParseKeyringEnv(env)
		if err != nil {
			checkFuzzKeyringError(t, env, err)
			var ke *tokensession.KeyError
			errors.As(err, &ke)
			if ke.Index >= len(strings.Fields(env)) {
				t.Fatalf("Index %d beyond the %d fields", ke.Index, len(strings.Fields(env)))
			}
			return
		}
		// Accepted keys are canonical: each re-exports to its field.
		fields := strings.Fields(env)
		entries := ring.Entries()
		if len(entries) != len(fields) {
			t.Fatalf("%d fields gave %d keys", len(fields), len(entries))
		}
		for i, e := range entries {
			if got := e.Key.UnsafeExportPASERK(); got != fields[i] {
				t.Fatalf("key %d re-exports as %q, was %q", i, got, fields[i])
			}
		}
	})
}

func FuzzParseKeyringJSON(f *testing.F) {
	k1, k2 := vectorKey(f).UnsafeExportPASERK(), testKey(f, 1).UnsafeExportPASERK()
	for _, s := range []string{
		`{"keys":[{"key":"` + k1 + `"}]}`,
		`{"keys":[{"key":"` + k1 + `","not_before":"2026-12-01T10:00:00Z"},{"key":"` + k2 + `","not_after":"2026-12-02T10:00:00+02:00"}]}`,
		`{"keys":[{"key":"` + k1 + `","not_afer":"2026-12-01T10:00:00Z"}]}`,
		`{"keys":[{"key":"` + k1 + `"}]}}`,
		`{"keys":[]}`,
		`{"keys":[{"key":"` + k1 + `"},{"key":"` + k1 + `"}]}`,
		`{"keys":[{"key":"k3.local.` + k1[9:] + `"}]}`,
		`{"` + k1 + `":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ring, err := tokensession.ParseKeyringJSON(data)
		if err != nil {
			checkFuzzKeyringError(t, string(data), err)
			return
		}
		if len(ring.Entries()) == 0 {
			t.Fatal("accepted an empty keyring")
		}
		out, err := ring.UnsafeMarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := tokensession.ParseKeyringJSON(out)
		if err != nil {
			t.Fatalf("re-parse of UnsafeMarshalJSON output: %v", err)
		}
		if diff := cmp.Diff(ring.Entries(), back.Entries(), keyCmp); diff != "" {
			t.Fatalf("round trip mismatch (-parsed +reparsed):\n%s", diff)
		}
	})
}

// TestFuzzSeedTokens checks that the tokens kept in the FuzzOpen corpus
// still open: a seed that stopped opening would leave the fuzzer without
// a valid starting point.
func TestFuzzSeedTokens(t *testing.T) {
	m := fuzzManager[fuzzSession](t, nil)
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzOpen", "valid-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid seed tokens: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: not a go test fuzz v1 file of one string", name)
		}
		tok, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v, info, err := m.Open(tok)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if v.User == "" || info.KeyID != vectorKey(t).ID() {
			t.Errorf("%s: opened to %+v, %+v", name, v, info)
		}
	}
}

// plainSession exercises JSON null (Ref) and the decoding of nested values.
type plainSession struct {
	User string   `json:"user"`
	Tags []string `json:"tags,omitempty"`
	Ref  *int     `json:"ref,omitempty"`
}

// FuzzOpenPlaintext seals any plaintext (the claims' JSON) as an authentic
// token, the way another implementation holding the key could, and opens
// it at any time: with the open cache three times (a miss; a miss that
// caches the token, now seen twice; a hit) and with the cache off. All
// four must agree exactly, for the default codec and for another JSON
// codec.
func FuzzOpenPlaintext(f *testing.F) {
	key := vectorKey(f)
	rawKey := refKeyBytes(f, key)
	footer := []byte(`{"kid":"` + key.ID() + `"}`)
	implicit := []byte("tokensession/v1:" + tokensession.DefaultCookieName)
	ring := mustRing(f, tokensession.KeyringEntry{Key: key})
	now := fuzzNow
	cfg := func(codec tokensession.Codec, cacheBytes int) tokensession.Config[*plainSession] {
		return tokensession.Config[*plainSession]{
			Keyring:        ring,
			Now:            func() time.Time { return now },
			Codec:          codec,
			OpenCacheBytes: cacheBytes,
		}
	}
	// More seeds, with bad claims, are in testdata/fuzz/FuzzOpenPlaintext.
	f.Add([]byte(`{"created":"2026-01-01T00:00:00.5Z","data":{"user":"ada","tags":["a"],"ref":7},"exp":"2026-01-01T00:30:00Z","iat":"2026-01-01T00:00:00Z","sid":"c2Vzc2lvbi1pZC0xMjM0NQ"}`), int64(0))
	f.Add([]byte(`{"created":"2026-01-01T00:00:00Z","data":null,"exp":"2026-01-01T00:30:00Z","iat":"2026-01-01T00:00:00Z","sid":"c2Vzc2lvbi1pZC0xMjM0NQ"}`), int64(0))

	f.Fuzz(func(t *testing.T, plaintext []byte, offset int64) {
		tok := refSeal(rawKey, plaintext, footer, implicit)
		// Any instant, to the nanosecond, around the claims' times.
		now = fuzzNow.Add(time.Duration(offset))
		for _, codec := range []tokensession.Codec{nil, otherJSONCodec{}} {
			cached := mustNew(t, cfg(codec, 0))
			v1, info1, err1 := cached.Open(tok)
			v2, info2, err2 := cached.Open(tok)
			vh, infoh, errh := cached.Open(tok)
			v3, info3, err3 := mustNew(t, cfg(codec, -1)).Open(tok)
			for i, r := range []struct {
				v    *plainSession
				info tokensession.Info
				err  error
			}{{v2, info2, err2}, {vh, infoh, errh}, {v3, info3, err3}} {
				what := [...]string{"second miss", "cache hit", "cache off"}[i]
				if !sameError(err1, r.err) {
					t.Fatalf("%T: %s: err = %v; cache miss: %v", codec, what, r.err, err1)
				}
				if diff := cmp.Diff(v1, r.v); diff != "" {
					t.Fatalf("%T: %s: value differs from the cache miss (-miss +%s):\n%s", codec, what, what, diff)
				}
				if r.info != info1 {
					t.Fatalf("%T: %s: Info = %+v; cache miss: %+v", codec, what, r.info, info1)
				}
			}
			if err1 != nil {
				if !isSentinel(err1) {
					t.Fatalf("%T: error %v is not exactly one sentinel", codec, err1)
				}
				continue
			}
			// What opens is what the format allows, and its expiry is cut
			// to the manager's timeouts.
			if !info1.Expires.After(now.Add(-tokensession.DefaultLeeway)) ||
				info1.Expires.After(info1.IssuedAt.Add(tokensession.DefaultIdleTimeout)) ||
				info1.Expires.After(info1.Created.Add(tokensession.DefaultAbsoluteTimeout)) ||
				info1.Created.Location() != time.UTC || info1.ID == "" || len(info1.ID) > 64 {
				t.Fatalf("%T: opened a token with Info %+v at %v", codec, info1, now)
			}
		}
	})
}

// sameError reports whether a and b are the same error: both nil, or the
// same message matching the same sentinels.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	for _, s := range openSentinels {
		if errors.Is(a, s) != errors.Is(b, s) {
			return false
		}
	}
	return a.Error() == b.Error()
}
