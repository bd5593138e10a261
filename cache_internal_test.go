package tokensession

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tokensession/tokensession/internal/format"
)

// The cache stays within its byte bound however many tokens pass through,
// and a hit needs the whole token to match.
func TestOpenCacheBounded(t *testing.T) {
	const bound = 64 << 10
	ring, err := NewKeyring(KeyringEntry{Key: GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := New(Config[string]{Keyring: ring, Now: func() time.Time { return now }, OpenCacheBytes: bound})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		tok, _, err := m.Seal(strconv.Itoa(i) + strings.Repeat("x", i%7*300))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Open(tok); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Open(tok); err != nil {
			t.Fatal(err)
		}
	}
	total, entries := 0, 0
	for i := range m.cache.shards {
		s := &m.cache.shards[i]
		sum := 0
		for _, e := range s.m {
			sum += e.cost()
		}
		if sum != s.bytes || s.bytes > m.cache.shardBytes {
			t.Errorf("shard %d: %d bytes counted, %d actual, bound %d", i, s.bytes, sum, m.cache.shardBytes)
		}
		total += sum
		entries += len(s.m)
	}
	if total > bound || entries == 0 {
		t.Errorf("cache holds %d entries, %d bytes, bound %d", entries, total, bound)
	}

	// A token that differs anywhere but in its cache key misses.
	tok, _, _ := m.Seal("alice")
	for range 2 { // cached on its second open
		if _, _, err := m.Open(tok); err != nil {
			t.Fatal(err)
		}
	}
	payload := tok[len(format.Header):strings.LastIndexByte(tok, '.')]
	if _, hit := m.cache.get(tok, payload); !hit {
		t.Fatal("opened token not cached")
	}
	forged := tok[:len(format.Header)] + "A" + tok[len(format.Header)+1:]
	if forged == tok {
		forged = tok[:len(format.Header)] + "B" + tok[len(format.Header)+1:]
	}
	if _, hit := m.cache.get(forged, payload); hit {
		t.Error("a different token with the same tag hit the cache")
	}
	if _, _, err := m.Open(forged); err == nil {
		t.Error("forged token opened")
	}
}

// A token the manager seals is not cached by sealing it: like any other,
// it is cached on its second open, and then opens to the same value and
// metadata as without the cache.
func TestSealLeavesOpenCache(t *testing.T) {
	ring, err := NewKeyring(KeyringEntry{Key: GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := New(Config[map[string]string]{Keyring: ring, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := m.Seal(map[string]string{"user": "alice", "note": "<&>"})
	if err != nil {
		t.Fatal(err)
	}
	payload := tok[len(format.Header):strings.LastIndexByte(tok, '.')]
	for i, want := range []bool{false, false, true} {
		if _, hit := m.cache.get(tok, payload); hit != want {
			t.Fatalf("after %d opens: cached %v, want %v", i, hit, want)
		}
		if i < 2 {
			if _, _, err := m.Open(tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	v, info, err := m.Open(tok)
	if err != nil || v["user"] != "alice" || v["note"] != "<&>" || !info.Created.Equal(now) {
		t.Fatalf("open from cache: %v %+v %v", v, info, err)
	}
	// The same token decrypted without the cache gives the same result.
	m2, err := New(Config[map[string]string]{Keyring: ring, Now: func() time.Time { return now }, OpenCacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	v2, info2, err := m2.Open(tok)
	if err != nil || v2["user"] != "alice" || v2["note"] != "<&>" || info2 != info {
		t.Fatalf("open without cache: %v %+v %v", v2, info2, err)
	}
}

// A token, sealed here or elsewhere, is cached the second time it is
// opened, not the first, and as its own copy of the request's string.
func TestOpenCacheAdmission(t *testing.T) {
	ring, err := NewKeyring(KeyringEntry{Key: GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config[string]{Keyring: ring, Now: func() time.Time { return now }}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OpenCacheBytes = -1
	elsewhere, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	payloadOf := func(tok string) string { return tok[len(format.Header):strings.LastIndexByte(tok, '.')] }

	for i := range 20 {
		sealer := elsewhere
		if i%2 == 0 {
			sealer = m // the manager's own tokens are no different
		}
		tok, _, err := sealer.Seal(strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		// A request's copy, as a Cookie header would hold it.
		tainted := strings.Clone(tok)
		if _, _, err := m.Open(tainted); err != nil {
			t.Fatal(err)
		}
		if _, hit := m.cache.get(tok, payloadOf(tok)); hit {
			t.Fatalf("token %d cached on its first open", i)
		}
		if _, _, err := m.Open(tainted); err != nil {
			t.Fatal(err)
		}
		e, hit := m.cache.get(tok, payloadOf(tok))
		if !hit {
			t.Fatalf("token %d not cached on its second open", i)
		}
		if unsafe.StringData(e.token) == unsafe.StringData(tainted) {
			t.Fatalf("token %d: the cache keeps the request's string", i)
		}
	}
}
