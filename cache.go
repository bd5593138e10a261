package tokensession

import (
	"strings"
	"sync"
)

// DefaultOpenCacheBytes is the default bound of [Config.OpenCacheBytes].
const DefaultOpenCacheBytes = 4 << 20

// openCache remembers tokens the manager has authenticated and decrypted,
// so that a session read on request after request is decrypted once per
// instance. It holds only what decryption produced (the claims' metadata
// and the raw data claim), never a decoded value that a handler could
// mutate.
//
// A hit requires the whole token to be byte-for-byte equal to the one
// decrypted. Everything that can change between requests is still checked
// on every hit by the caller: the key's presence in the current keyring
// and its retirement, expiry, absolute lifetime, RevokedBefore, decoding
// and IsRevoked. Only the cryptography and the claims parse are skipped.
//
// It is bounded in bytes, sharded to keep lock contention low, and evicts
// an arbitrary entry of the shard when full. It starts no goroutine.
type openCache struct {
	shards     [cacheShards]cacheShard
	shardBytes int
}

const cacheShards = 16

type cacheShard struct {
	mu    sync.Mutex
	m     map[string]*cachedToken
	bytes int
}

type cachedToken struct {
	token string // the whole token, a private copy
	info  Info
	data  []byte // the raw "data" claim
}

// cacheEntryOverhead approximates the bytes an entry costs besides the
// token and data: the map slot, the struct and the Info strings.
const cacheEntryOverhead = 256

func newOpenCache(maxBytes int) *openCache {
	c := &openCache{shardBytes: maxBytes / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*cachedToken)
	}
	return c
}

// cacheKey returns the part of a token that names it in the cache: the
// last 32 characters of the payload, which encode its authentication tag.
// Collisions cost only a miss, since a hit compares the whole token.
func cacheKey(payload string) string {
	return payload[len(payload)-32:]
}

func (c *openCache) shard(key string) *cacheShard {
	return &c.shards[key[0]%cacheShards]
}

// get returns the cached result for tainted, whose payload is payload.
func (c *openCache) get(tainted, payload string) (*cachedToken, bool) {
	key := cacheKey(payload)
	s := c.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	if !ok || e.token != tainted {
		return nil, false
	}
	return e, true
}

// put remembers the result of decrypting tainted. The entry owns copies of
// its strings, so it never pins a request's header memory.
func (c *openCache) put(tainted, payload string, info Info, data []byte) {
	cost := len(tainted) + len(data) + cacheEntryOverhead
	if cost > c.shardBytes {
		return
	}
	token := strings.Clone(tainted)
	key := cacheKey(token[len(tokenHeader) : len(tokenHeader)+len(payload)])
	e := &cachedToken{token: token, info: info, data: data}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[key]; ok {
		s.bytes -= old.cost()
		delete(s.m, key)
	}
	for k, old := range s.m {
		if s.bytes+cost <= c.shardBytes {
			break
		}
		s.bytes -= old.cost()
		delete(s.m, k)
	}
	s.m[key] = e
	s.bytes += cost
}

func (e *cachedToken) cost() int {
	return len(e.token) + len(e.data) + cacheEntryOverhead
}
