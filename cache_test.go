package tokensession_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokensession/tokensession"
)

// The open cache skips only decryption: every hit still sees the current
// keyring, the clock and the revocation hook, and hands out a fresh value.
func TestOpenCacheRechecksEveryHit(t *testing.T) {
	for _, cacheBytes := range []int{0, -1} {
		name := map[int]string{0: "cache", -1: "no cache"}[cacheBytes]
		t.Run(name, func(t *testing.T) {
			revokeCalls := 0
			revoked := ""
			e := newMWEnv(t, func(c *tokensession.Config[mwValue]) {
				c.OpenCacheBytes = cacheBytes
				c.IsRevoked = func(info tokensession.Info, v mwValue) bool {
					revokeCalls++
					return v.User == revoked
				}
			})
			tok, _, err := e.m.Seal(mwValue{User: "alice", Cart: []string{"tea"}})
			if err != nil {
				t.Fatal(err)
			}
			v1, info1, err := e.m.Open(tok)
			if err != nil {
				t.Fatal(err)
			}
			v1.Cart[0] = "mutated by the handler"
			v2, info2, err := e.m.Open(tok)
			if err != nil || v2.Cart[0] != "tea" || info2 != info1 {
				t.Fatalf("second open: %+v %+v %v", v2, info2, err)
			}
			if revokeCalls != 2 {
				t.Errorf("IsRevoked called %d times for two opens", revokeCalls)
			}
			revoked = "alice"
			if _, _, err := e.m.Open(tok); !errors.Is(err, tokensession.ErrRevoked) {
				t.Errorf("revoked: %v", err)
			}
			revoked = ""

			// Expiry is checked on every open.
			e.clock.Set(mwT0.Add(31 * time.Minute))
			if _, _, err := e.m.Open(tok); !errors.Is(err, tokensession.ErrExpired) {
				t.Errorf("expired: %v", err)
			}
			e.clock.Set(mwT0)

			// A key retired or removed from the keyring no longer opens.
			retired, _ := tokensession.NewKeyring(
				tokensession.KeyringEntry{Key: tokensession.GenerateKey()},
				tokensession.KeyringEntry{Key: e.key, NotAfter: mwT0.Add(-time.Minute)},
			)
			if err := e.m.SetKeyring(retired); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.m.Open(tok); !errors.Is(err, tokensession.ErrKeyRetired) {
				t.Errorf("retired key: %v", err)
			}
			other, _ := tokensession.NewKeyring(tokensession.KeyringEntry{Key: tokensession.GenerateKey()})
			if err := e.m.SetKeyring(other); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.m.Open(tok); !errors.Is(err, tokensession.ErrUnknownKey) {
				t.Errorf("removed key: %v", err)
			}
		})
	}
}

// reusingCodec is a JSON codec that returns the same buffer from every
// Marshal, as a pooling codec may.
type reusingCodec struct{ buf *[]byte }

func (c reusingCodec) Marshal(v any) ([]byte, error) {
	out, err := json.Marshal(v)
	*c.buf = append((*c.buf)[:0], out...)
	return *c.buf, err
}
func (reusingCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (reusingCodec) EncodesJSON() bool                  { return true }

// The open cache keeps its own copy of a codec's output: a codec that
// reuses its buffer cannot change what a cached token opens to.
func TestOpenCacheOwnsCodecOutput(t *testing.T) {
	e := newMWEnv(t, func(c *tokensession.Config[mwValue]) {
		c.Codec = reusingCodec{buf: new([]byte)}
	})
	tok, _, err := e.m.Seal(mwValue{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.m.Seal(mwValue{User: "bob__"}); err != nil {
		t.Fatal(err)
	}
	v, _, err := e.m.Open(tok)
	if err != nil || v.User != "alice" {
		t.Fatalf("Open of the first token = %+v, %v; want alice", v, err)
	}
}

// Goroutines opening, over and over, tokens that a small cache must keep
// overwriting each get their own session back every time.
func TestOpenCacheConcurrent(t *testing.T) {
	ring := mustRing(t, tokensession.KeyringEntry{Key: testKey(t, 1)})
	clock := newFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	// About 4 tokens per shard: the rings wrap all the time.
	m := mustNew(t, tokensession.Config[[]int]{Keyring: ring, Now: clock.Now, OpenCacheBytes: 16 * 2048})
	var toks []string
	for i := range 200 {
		v := make([]int, i%60)
		for j := range v {
			v[j] = i
		}
		tok, _, err := m.Seal(v)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 3000 {
				i := (k*7 + g*13) % len(toks)
				v, _, err := m.Open(toks[i])
				if err != nil || len(v) != i%60 || len(v) > 0 && (v[0] != i || v[len(v)-1] != i) {
					errs <- fmt.Errorf("token %d: %v, %v", i, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
