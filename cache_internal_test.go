package tokensession

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"aidanwoods.dev/go-paseto"

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
		if len(s.ring) > m.cache.ringBytes {
			t.Errorf("shard %d: a ring of %d bytes, bound %d", i, len(s.ring), m.cache.ringBytes)
		}
		total += len(s.ring)
		for _, pos := range s.index {
			if s.valid(pos) {
				entries++
			}
		}
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
	if _, _, hit := m.cache.get(m.cache.locate(payload), tok); !hit {
		t.Fatal("opened token not cached")
	}
	forged := tok[:len(format.Header)] + "A" + tok[len(format.Header)+1:]
	if forged == tok {
		forged = tok[:len(format.Header)] + "B" + tok[len(format.Header)+1:]
	}
	if _, _, hit := m.cache.get(m.cache.locate(payload), forged); hit {
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
		if _, _, hit := m.cache.get(m.cache.locate(payload), tok); hit != want {
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
// opened, not the first.
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
		if _, _, hit := m.cache.get(m.cache.locate(payloadOf(tok)), tok); hit {
			t.Fatalf("token %d cached on its first open", i)
		}
		if _, _, err := m.Open(tainted); err != nil {
			t.Fatal(err)
		}
		if _, _, hit := m.cache.get(m.cache.locate(payloadOf(tok)), tok); !hit {
			t.Fatalf("token %d not cached on its second open", i)
		}
	}
}

// Entries written past the ring's end go back to its start, overwriting the
// oldest: the index finds every entry still whole, never one overwritten,
// and forgets what was overwritten, so that it stays small however many
// entries pass through.
func TestOpenCacheRing(t *testing.T) {
	c := newOpenCache(cacheShards * 1024)
	s := &c.shards[0]
	created := time.Date(2026, 1, 2, 3, 4, 5, 678, time.UTC)
	token := func(i int) string { return fmt.Sprintf("token %d %s", i, strings.Repeat("t", i%50)) }
	for i := range 1000 {
		info := Info{ID: "sid" + strconv.Itoa(i), Created: created.Add(time.Duration(i)), IssuedAt: created, Expires: created.Add(time.Hour)}
		c.insert(s, uint64(i), token(i), info, []byte(strconv.Itoa(i)))

		// The newest entry is always there, and the ring holds at most
		// 1024 / (48 + 8 + 4 + 3) entries of two generations.
		if len(s.index) > 2*1024/63 {
			t.Fatalf("after %d entries: an index of %d", i+1, len(s.index))
		}
		whole := 0
		for h, pos := range s.index {
			if !s.valid(pos) {
				continue
			}
			whole++
			e := s.ring[uint32(pos):]
			n := int(h)
			if got := string(e[entryHeader : entryHeader+len(token(n))]); got != token(n) {
				t.Fatalf("after %d entries: entry %d holds %q", i+1, n, got)
			}
		}
		if whole == 0 || len(s.ring) != 1024 {
			t.Fatalf("after %d entries: %d whole, a ring of %d", i+1, whole, len(s.ring))
		}
	}
}

// A hit gives back, by value, what the token's miss offered, however many
// entries were written since, or none if it was overwritten.
func TestOpenCacheRoundTrip(t *testing.T) {
	c := newOpenCache(cacheShards * 2048)
	created := time.Date(2026, 1, 2, 3, 4, 5, 678, time.UTC)
	type want struct {
		token string
		info  Info
		data  string
	}
	var all []want
	for i := range 2000 {
		tok := fmt.Sprintf("v4.local.%032d%s", i, strings.Repeat("x", i%40))
		info := Info{ID: "sid" + strconv.Itoa(i), Created: created.Add(time.Duration(i) * time.Second), IssuedAt: created.Add(-time.Duration(i)), Expires: created.AddDate(900, 0, i)}
		claims := paseto.NewToken()
		data := fmt.Sprintf(`{"n":%d}`, i)
		if i%10 == 0 {
			data = "null"
		}
		claims.Set("data", json.RawMessage(data))
		payload := tok[len("v4.local."):]
		c.offer(c.locate(payload), tok, info, claims)
		c.offer(c.locate(payload), tok, info, claims)
		all = append(all, want{tok, info, data})

		if gotInfo, gotData, hit := c.get(c.locate(payload), tok); !hit || gotInfo != info || string(gotData) != data {
			t.Fatalf("token %d right after its second offer: %v %+v %s", i, hit, gotInfo, gotData)
		}
	}
	hits := 0
	for i, w := range all {
		info, data, hit := c.get(c.locate(w.token[len("v4.local."):]), w.token)
		if !hit {
			continue
		}
		hits++
		if info != w.info || string(data) != w.data {
			t.Fatalf("token %d: got %+v %s, want %+v %s", i, info, data, w.info, w.data)
		}
		// The copy is the caller's.
		clear(data)
		if _, again, _ := c.get(c.locate(w.token[len("v4.local."):]), w.token); string(again) != w.data {
			t.Fatalf("token %d: a caller's change reached the cache: %q", i, again)
		}
	}
	if hits == 0 || hits == len(all) {
		t.Fatalf("%d of %d tokens hit", hits, len(all))
	}
}

// A shard's ring starts small and doubles up to the bound, keeping the
// entries it holds.
func TestOpenCacheRingGrows(t *testing.T) {
	c := newOpenCache(cacheShards * 64 << 10)
	s := &c.shards[0]
	token := func(i int) string { return fmt.Sprintf("%0500d", i) }
	var sizes []int
	for i := range 200 {
		c.insert(s, uint64(i), token(i), Info{ID: "s"}, []byte("null"))
		if len(sizes) == 0 || sizes[len(sizes)-1] != len(s.ring) {
			sizes = append(sizes, len(s.ring))
		}
		if s.gen == 0 {
			// Before the first wrap, every entry is still there.
			for j := 0; j <= i; j++ {
				pos, ok := s.index[uint64(j)]
				if !ok || !s.valid(pos) || string(s.ring[uint32(pos)+entryHeader:][:500]) != token(j) {
					t.Fatalf("after %d entries in a ring of %d: entry %d lost", i+1, len(s.ring), j)
				}
			}
		}
	}
	if want := []int{8 << 10, 16 << 10, 32 << 10, 64 << 10}; !slices.Equal(sizes, want) || s.gen == 0 {
		t.Fatalf("ring sizes %v, generation %d; want %v and a wrap", sizes, s.gen, want)
	}
}

// However large the bound, an offset in a shard's ring fits the index's 32
// bits.
func TestOpenCacheRingBound(t *testing.T) {
	for _, bound := range []int{cacheShards, math.MaxInt / 2, math.MaxInt} {
		if c := newOpenCache(bound); uint64(c.ringBytes) > math.MaxUint32 || c.ringBytes < 1 {
			t.Errorf("OpenCacheBytes %d: rings of %d bytes", bound, c.ringBytes)
		}
	}
}
