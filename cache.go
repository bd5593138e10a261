package tokensession

import (
	"strings"
	"sync"

	"aidanwoods.dev/go-paseto"

	"github.com/tokensession/tokensession/internal/format"
)

// defaultOpenCacheBytes is the default bound of [Config.OpenCacheBytes].
const defaultOpenCacheBytes = 4 << 20

// openCache remembers tokens the manager has authenticated and decrypted,
// so that a session read on request after request is decrypted once or
// twice per instance. It is a memo around decryptToken: it holds what
// decryption produced (the metadata and the claims, still raw JSON, which
// nothing modifies after), never a decoded value that a handler could
// mutate.
//
// A hit requires the whole token to be byte-for-byte equal to the one
// decrypted. Everything that can change between requests is still checked
// on every hit by the caller: the key's presence in the current keyring
// and its retirement, expiry, absolute lifetime, RevokedBefore, decoding
// and IsRevoked. Only the cryptography and the claims parse are skipped.
// The key is the one the token's footer names, and a key ID is derived
// from the key, so the token alone determines what decryption gives.
//
// What goes in: a token the second time it is opened here, not the first,
// wherever it was sealed. A small table of tag fingerprints remembers the
// first sighting. So an instance that sees each token once (a cold
// instance behind a round-robin load balancer, a session written on every
// request, a cache that sees more sessions than it holds) does not pay for
// copying and inserting tokens that never come back, nor for evicting the
// ones that might: with a low hit rate the cache costs a fingerprint per
// open and nothing per seal. Inserting the tokens the manager seals would
// make the read after each write a hit, but cost about 9% of every seal
// whether or not the token comes back.
//
// It is bounded in bytes, sharded to keep lock contention low, and evicts
// an arbitrary entry of the shard when full. It starts no goroutine.
type openCache struct {
	shards     [cacheShards]cacheShard
	shardBytes int
}

const (
	cacheShards = 16
	// cacheSeenSlots is the size of each shard's table of first
	// sightings: 4096 fingerprints in all, 16 KiB.
	cacheSeenSlots = 256
)

type cacheShard struct {
	mu    sync.Mutex
	m     map[string]*cachedToken
	bytes int
	// seen holds fingerprints of tokens opened once and not cached; a
	// slot holds the latest token that hashed to it. 0 is empty.
	seen [cacheSeenSlots]uint32
}

type cachedToken struct {
	token  string // the whole token, owned by the cache
	info   Info
	claims paseto.Token // read-only
}

// cacheEntryOverhead approximates the bytes an entry costs besides the
// token and its claims' bytes: the map slot, the struct, the Info strings
// and the claims' map.
const cacheEntryOverhead = 512

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

// offer remembers the result of decrypting tainted, which came from a
// request, if it was offered before: see the type's comment. The entry
// owns a copy of tainted, so it never pins a request's header memory.
func (c *openCache) offer(tainted, payload string, info Info, claims paseto.Token) {
	key := cacheKey(payload)
	slot, fp := seenSlot(key)
	s := c.shard(key)
	s.mu.Lock()
	again := s.seen[slot] == fp
	if again {
		s.seen[slot] = 0
	} else {
		s.seen[slot] = fp
	}
	s.mu.Unlock()
	if !again {
		return
	}
	token := strings.Clone(tainted)
	c.insert(token, token[len(format.Header):len(format.Header)+len(payload)], info, claims)
}

// seenSlot returns where in its shard's table of first sightings the token
// of cache key key goes, and its fingerprint there, never 0. The key
// encodes the token's authentication tag: only a key holder chooses it.
func seenSlot(key string) (int, uint32) {
	// FNV-1a over the characters after the one that picks the shard.
	h := uint64(14695981039346656037)
	for i := 1; i < 12; i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return int(h % cacheSeenSlots), uint32(h>>32) | 1
}

// insert adds an entry for token, which the cache may keep, evicting
// entries of the shard until it fits.
func (c *openCache) insert(token, payload string, info Info, claims paseto.Token) {
	cost := entryCost(token)
	if cost > c.shardBytes {
		return
	}
	key := cacheKey(payload)
	e := &cachedToken{token: token, info: info, claims: claims}
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

func (e *cachedToken) cost() int { return entryCost(e.token) }

// entryCost is what an entry for token costs: the token, its claims, whose
// bytes are fewer than the 3/4 of the token that base64 decodes to, and
// the overhead.
func entryCost(token string) int {
	return len(token) + len(token)*3/4 + cacheEntryOverhead
}
