package tokensession_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	const n = 64
	ids := map[string]bool{}
	secrets := map[string]bool{}
	for range n {
		k := tokensession.GenerateKey()
		if !k.IsValid() {
			t.Fatal("GenerateKey returned an invalid Key")
		}
		ids[k.ID()] = true
		secrets[k.UnsafeExportPASERK()] = true
		parsed, err := tokensession.ParseKey(k.UnsafeExportPASERK())
		if err != nil {
			t.Fatalf("ParseKey of an exported key: %v", err)
		}
		if !parsed.Equal(k) || parsed.ID() != k.ID() {
			t.Error("exported key parses to another key")
		}
	}
	if len(ids) != n || len(secrets) != n {
		t.Errorf("%d keys gave %d IDs and %d secrets", n, len(ids), len(secrets))
	}
}

func TestParseKeyErrors(t *testing.T) {
	t.Parallel()
	valid := vectorKey(t).UnsafeExportPASERK() // k4.local.cHFy…jo8
	enc := strings.TrimPrefix(valid, "k4.local.")
	cases := []struct {
		name, input string
	}{
		{"empty", ""},
		{"prefix only", "k4.local."},
		{"no prefix", enc},
		{"wrong prefix", "x4.local." + enc},
		{"upper case", "K4.LOCAL." + enc},
		{"no dot", "k4.local" + enc},
		{"leading space", " " + valid},
		{"k3", "k3.local." + enc},
		{"k2", "k2.local." + enc},
		{"k4.public", "k4.public." + enc},
		{"k4.secret", "k4.secret." + enc + enc},
		{"k4.lid", vectorKey(t).ID()},
		{"short", "k4.local." + enc[:42]},
		{"much too short", "k4.local." + enc[:20]},
		{"long", "k4.local." + enc + "A"},
		{"padded", "k4.local." + enc + "="},
		{"padded short", "k4.local." + enc[:42] + "="},
		{"non-canonical last character", "k4.local." + enc[:42] + "9"},
		{"standard base64 alphabet", "k4.local." + strings.ReplaceAll(enc, "-", "+")},
		{"bad character", "k4.local." + enc[:10] + "!" + enc[11:]},
		{"newline inside", "k4.local." + enc[:10] + "\n" + enc[11:]},
		{"trailing newline", valid + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tokensession.ParseKey(tc.input)
			if err == nil {
				t.Fatalf("ParseKey(%q) succeeded", tc.input)
			}
			if k.IsValid() {
				t.Error("ParseKey returned a valid Key with its error")
			}
			var ke *tokensession.KeyError
			if !errors.As(err, &ke) || !errors.Is(err, tokensession.ErrInvalidKey) {
				t.Fatalf("error %v is not a *KeyError matching ErrInvalidKey", err)
			}
			if ke.Index != -1 {
				t.Errorf("Index = %d, want -1", ke.Index)
			}
			if !strings.HasPrefix(err.Error(), "tokensession: ") || ke.Reason == "" {
				t.Errorf("error %q lacks the package prefix or a reason", err)
			}
			if piece := secretPiece(err.Error(), tc.input); piece != "" {
				t.Errorf("error %q repeats the input's %q", err, piece)
			}
		})
	}
}

// secretPiece returns a piece of the base64 part of a key string (what
// follows its last '.', or all of it) of 6 characters or more found in
// msg, or "".
func secretPiece(msg, input string) string {
	part := input
	if i := strings.LastIndexByte(input, '.'); i >= 0 {
		part = input[i+1:]
	}
	const n = 6
	for i := 0; i+n <= len(part); i++ {
		if strings.Contains(msg, part[i:i+n]) {
			return part[i : i+n]
		}
	}
	return ""
}

func TestNewKeyFromBytes(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		_, err := tokensession.NewKeyFromBytes(make([]byte, n))
		var ke *tokensession.KeyError
		if !errors.As(err, &ke) || !errors.Is(err, tokensession.ErrInvalidKey) || ke.Index != -1 {
			t.Errorf("NewKeyFromBytes of %d bytes: err = %v, want a *KeyError", n, err)
		}
	}
	b := bytes.Repeat([]byte{0x42}, tokensession.KeySize)
	k, err := tokensession.NewKeyFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	before := k.UnsafeExportPASERK()
	b[0] = 0 // the Key holds a copy
	if k.UnsafeExportPASERK() != before {
		t.Error("changing the input slice changed the Key")
	}
}

func TestKeyEqual(t *testing.T) {
	t.Parallel()
	a := vectorKey(t)
	a2, err := tokensession.ParseKey(a.UnsafeExportPASERK())
	if err != nil {
		t.Fatal(err)
	}
	b := testKey(t, 0x71) // differs from a in every byte
	c := testKey(t, 0x70)
	var zero, zero2 tokensession.Key

	for _, tc := range []struct {
		name string
		x, y tokensession.Key
		want bool
	}{
		{"same key", a, a, true},
		{"same bytes", a, a2, true},
		{"same bytes, new Key", a, c, true},
		{"other key", a, b, false},
		{"key and zero", a, zero, false},
		{"zero and key", zero, a, false},
		{"two zero Keys", zero, zero2, true},
	} {
		if got := tc.x.Equal(tc.y); got != tc.want {
			t.Errorf("%s: Equal = %v, want %v", tc.name, got, tc.want)
		}
	}
	if reflect.TypeFor[tokensession.Key]().Comparable() {
		t.Error("Key is comparable with ==; it must not be")
	}
}

func TestZeroKey(t *testing.T) {
	t.Parallel()
	var k tokensession.Key
	if k.IsValid() || k.ID() != "" {
		t.Errorf("zero Key: IsValid %v, ID %q", k.IsValid(), k.ID())
	}
	if s := fmt.Sprint(k); s != "tokensession.Key(invalid)" {
		t.Errorf("zero Key prints as %q", s)
	}
	if j, err := json.Marshal(k); err != nil || string(j) != `""` {
		t.Errorf("json.Marshal(zero Key) = %s, %v", j, err)
	}
	func() {
		defer func() {
			r := recover()
			if s, ok := r.(string); !ok || !strings.HasPrefix(s, "tokensession:") {
				t.Errorf("UnsafeExportPASERK of a zero Key: panic %v, want a tokensession: message", r)
			}
		}()
		k.UnsafeExportPASERK()
	}()
	var ke *tokensession.KeyError
	if _, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: vectorKey(t)}, tokensession.KeyringEntry{}); !errors.As(err, &ke) || ke.Index != 1 {
		t.Errorf("NewKeyring with a zero Key at 1: err = %v, want a *KeyError for entry 1", err)
	}
}

// forbidden returns every form in which k's secret must never appear.
func forbidden(t *testing.T, k tokensession.Key) []string {
	raw := refKeyBytes(t, k)
	dec := fmt.Sprint(raw)
	return []string{
		strings.TrimPrefix(k.UnsafeExportPASERK(), "k4.local."),
		string(raw),
		string(raw[:8]),
		hex.EncodeToString(raw),
		hex.EncodeToString(raw[:8]),
		strings.ToUpper(hex.EncodeToString(raw[:8])),
		base64.StdEncoding.EncodeToString(raw),
		dec[1 : len(dec)-1], // "112 113 114 …", as %d prints bytes
		strings.Trim(fmt.Sprintf("%#x", raw), "[]"),
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	for _, k := range []tokensession.Key{vectorKey(t), tokensession.GenerateKey()} {
		ring := mustRing(t,
			tokensession.KeyringEntry{Key: k, NotAfter: fixedT0.Add(time.Hour)},
			tokensession.KeyringEntry{Key: testKey(t, 1)})
		m := mustNew(t, tokensession.Config[account]{Keyring: ring, Now: func() time.Time { return fixedT0 }})
		type exported struct{ K tokensession.Key }
		type unexported struct{ k tokensession.Key }
		type nested struct {
			E     tokensession.KeyringEntry
			r     *tokensession.Keyring
			Ring  *tokensession.Keyring
			inner unexported
		}
		kk := k
		values := map[string]any{
			"Key":                  k,
			"*Key":                 &kk,
			"struct exported":      exported{k},
			"struct unexported":    unexported{k},
			"*struct unexported":   &unexported{k},
			"[]Key":                []tokensession.Key{k},
			"map":                  map[string]tokensession.Key{"k": k},
			"KeyringEntry":         tokensession.KeyringEntry{Key: k},
			"*Keyring":             ring,
			"Entries":              ring.Entries(),
			"nested":               nested{E: tokensession.KeyringEntry{Key: k}, r: ring, Ring: ring, inner: unexported{k}},
			"*Manager":             m,
			"Manager.Keyring":      m.Keyring(),
			"any slice":            []any{k, &kk, ring},
			"reflect.Value of Key": reflect.ValueOf(k),
		}
		var outputs []string
		for name, v := range values {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%p", "%T", "%t", "%c", "%e", "%U", "%b", "%o", "%10.3v", "% x", "%!"} {
				outputs = append(outputs, name+" "+verb+": "+fmt.Sprintf(verb, v))
			}
			if name == "reflect.Value of Key" {
				continue
			}
			j, err := json.Marshal(v)
			if err != nil {
				t.Errorf("json.Marshal(%s): %v", name, err)
			}
			outputs = append(outputs, name+" json: "+string(j))
		}
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("k", "key", k, "ring", ring, "entry", tokensession.KeyringEntry{Key: k})
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("k", "key", k, "ring", ring, "entry", tokensession.KeyringEntry{Key: k})
		outputs = append(outputs, "slog: "+buf.String())
		_, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: k}, tokensession.KeyringEntry{Key: k})
		outputs = append(outputs, "duplicate error: "+err.Error())
		_, err = tokensession.NewKeyring(tokensession.KeyringEntry{Key: k, NotBefore: fixedT0, NotAfter: fixedT0})
		outputs = append(outputs, "window error: "+err.Error())

		for _, out := range outputs {
			for _, f := range forbidden(t, k) {
				if strings.Contains(out, f) {
					t.Errorf("secret printed (%q):\n%s", f, out)
				}
			}
		}
		// The key still shows as its ID where it can.
		for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%#v", k), fmt.Sprintf("%+v", exported{k}), fmt.Sprint(ring)} {
			if !strings.Contains(out, k.ID()) {
				t.Errorf("%q does not name the key by its ID", out)
			}
		}
		if j, _ := json.Marshal(exported{k}); string(j) != `{"K":"`+k.ID()+`"}` {
			t.Errorf("json.Marshal of a struct holding a Key = %s, want the ID", j)
		}
		if q := fmt.Sprintf("%q", k); q != `"tokensession.Key(`+k.ID()+`)"` {
			t.Errorf("%%q = %s", q)
		}
	}
}
