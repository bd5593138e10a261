//go:build goexperiment.jsonv2

package tokensession_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokensession/tokensession"
)

// Run with: GOEXPERIMENT=jsonv2 go test -run JSONv2 .

type v2Value struct {
	UID   int            `json:"uid"`
	Email string         `json:"email"`
	Roles []string       `json:"roles"`
	Flags map[string]int `json:"flags"`
	Count int            `json:"count,omitempty"`
}

// TestJSONv2CodecRoundTrip seals and opens through managers with and
// without the cache, and checks that the "data" claim is plain JSON: a
// manager with the default codec and the same key opens the token too.
func TestJSONv2CodecRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	ring, err := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	newManager := func(codec tokensession.Codec, cache int) *tokensession.Manager[v2Value] {
		m, err := tokensession.New(tokensession.Config[v2Value]{
			Keyring: ring, Now: func() time.Time { return now }, Codec: codec, OpenCacheBytes: cache,
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if !(tokensession.JSONv2Codec{}).EncodesJSON() {
		t.Fatal("EncodesJSON() = false")
	}
	want := v2Value{UID: 7, Email: "ada@example.org", Roles: []string{"user"}, Flags: map[string]int{"beta": 1}, Count: 3}
	for _, cache := range []int{0, -1} {
		m := newManager(tokensession.JSONv2Codec{}, cache)
		tok, _, err := m.Seal(want)
		if err != nil {
			t.Fatal(err)
		}
		for name, opener := range map[string]*tokensession.Manager[v2Value]{
			"same manager":  m,
			"fresh v2":      newManager(tokensession.JSONv2Codec{}, -1),
			"encoding/json": newManager(nil, -1),
		} {
			got, _, err := opener.Open(tok)
			if err != nil {
				t.Fatalf("cache %d, %s: %v", cache, name, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cache %d, %s: (-want +got)\n%s", cache, name, diff)
			}
		}
	}
}

// TestJSONv2CodecDifferences checks each difference from encoding/json
// that JSONv2Codec's documentation lists, against JSONCodec on the same
// input.
func TestJSONv2CodecDifferences(t *testing.T) {
	v1, v2 := tokensession.JSONCodec{}, tokensession.JSONv2Codec{}

	t.Run("case-sensitive names", func(t *testing.T) {
		in := []byte(`{"UID":5}`)
		var a, b v2Value
		if err := v1.Unmarshal(in, &a); err != nil || a.UID != 5 {
			t.Fatalf("v1: UID %d, err %v; want 5, nil", a.UID, err)
		}
		if err := v2.Unmarshal(in, &b); err != nil || b.UID != 0 {
			t.Fatalf("v2: UID %d, err %v; want 0, nil", b.UID, err)
		}
	})

	t.Run("nil slice and map", func(t *testing.T) {
		in := v2Value{UID: 1}
		a, err := v1.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		b, err := v2.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(a), `"roles":null`) || !strings.Contains(string(a), `"flags":null`) {
			t.Errorf("v1: %s, want null roles and flags", a)
		}
		if !strings.Contains(string(b), `"roles":[]`) || !strings.Contains(string(b), `"flags":{}`) {
			t.Errorf("v2: %s, want [] roles and {} flags", b)
		}
		// encoding/json reads [] back as an empty, non-nil slice.
		var back v2Value
		if err := v1.Unmarshal(b, &back); err != nil || back.Roles == nil || len(back.Roles) != 0 {
			t.Errorf("v1 reading v2's output: roles %#v, err %v", back.Roles, err)
		}
	})

	t.Run("duplicate names", func(t *testing.T) {
		in := []byte(`{"uid":1,"uid":2}`)
		var a, b v2Value
		if err := v1.Unmarshal(in, &a); err != nil || a.UID != 2 {
			t.Fatalf("v1: UID %d, err %v; want 2, nil", a.UID, err)
		}
		if err := v2.Unmarshal(in, &b); err == nil {
			t.Fatal("v2 accepted a duplicate name")
		}
	})

	t.Run("invalid UTF-8", func(t *testing.T) {
		in := []byte("{\"email\":\"a\xffb\"}")
		var a, b v2Value
		if err := v1.Unmarshal(in, &a); err != nil || a.Email != "a\uFFFDb" {
			t.Fatalf("v1 decode: email %q, err %v; want %q, nil", a.Email, err, "a\uFFFDb")
		}
		if err := v2.Unmarshal(in, &b); err == nil {
			t.Fatal("v2 decoded invalid UTF-8")
		}
		bad := v2Value{Email: "a\xffb"}
		if _, err := v1.Marshal(bad); err != nil {
			t.Fatalf("v1 encode: %v", err)
		}
		if _, err := v2.Marshal(bad); err == nil {
			t.Fatal("v2 encoded invalid UTF-8")
		}
	})

	t.Run("omitempty on a number", func(t *testing.T) {
		in := v2Value{Count: 0}
		a, _ := v1.Marshal(in)
		b, _ := v2.Marshal(in)
		if strings.Contains(string(a), `"count"`) {
			t.Errorf("v1: %s, want count omitted", a)
		}
		if !strings.Contains(string(b), `"count":0`) {
			t.Errorf("v2: %s, want count:0", b)
		}
	})

	t.Run("time.Duration", func(t *testing.T) {
		type withDuration struct{ D time.Duration }
		in := withDuration{D: time.Second}
		if _, err := v1.Marshal(in); err != nil {
			t.Fatalf("v1: %v", err)
		}
		if _, err := v2.Marshal(in); err == nil {
			t.Fatal("v2 encoded a time.Duration with no format")
		}
	})

	t.Run("byte array and HTML", func(t *testing.T) {
		type other struct {
			A [2]byte
			S string
		}
		in := other{A: [2]byte{1, 2}, S: "<a>"}
		a, _ := v1.Marshal(in)
		b, _ := v2.Marshal(in)
		if string(a) != `{"A":[1,2],"S":"\u003ca\u003e"}` {
			t.Errorf("v1: %s", a)
		}
		if string(b) != `{"A":"AQI=","S":"<a>"}` {
			t.Errorf("v2: %s", b)
		}
	})
}
