package tokensession

import (
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"math"
	"sync"
	"time"

	"aidanwoods.dev/go-paseto"
)

// defaultOpenCacheBytes is the default bound of [Config.OpenCacheBytes].
const defaultOpenCacheBytes = 4 << 20

// openCache remembers tokens the manager has authenticated and decrypted,
// so that a session read on request after request is decrypted once or
// twice per instance. It is a memo around decryptToken: it keeps what
// decryption produced (the metadata and the data claim's raw JSON), and
// hands out a fresh copy on every hit, never a decoded value that a
// handler could mutate.
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
// copying and inserting tokens that never come back. Inserting the tokens
// the manager seals would make the read after each write a hit, but cost
// about 9% of every seal whether or not the token comes back.
//
// The memory holds no pointers, so that a full cache adds nothing to the
// garbage collector's marking: each shard keeps its entries end to end in
// one byte ring, written in order and overwritten oldest first, and an
// index from a hash of the token to the entry's place in the ring. A cache
// of parsed claims (a map of a dozen small objects per entry) made every
// request of a process with a small heap 12–16% slower once full (at 200
// B), hit, miss or cache off. A shard's ring is allocated on its first insert and grows
// by doubling until it reaches the bound, so a manager that never sees a
// token twice never allocates one, and one that holds a few sessions
// takes a few kilobytes.
//
// It is sharded to keep lock contention low, and starts no goroutine.
type openCache struct {
	shards    [cacheShards]cacheShard
	ringBytes int
	seed      maphash.Seed
}

const (
	cacheShards = 16
	// cacheRingStart is the size of a shard's ring on its first entry:
	// it doubles until it reaches the cache's bound.
	cacheRingStart = 8 << 10
	// cacheSeenSlots is the size of each shard's table of first
	// sightings: 4096 fingerprints in all, 16 KiB.
	cacheSeenSlots = 256
)

type cacheShard struct {
	mu sync.Mutex
	// index maps a token's hash to where its entry starts in ring: the
	// generation in the high 32 bits, the offset in the low ones. It may
	// hold entries since overwritten; valid tells them apart.
	index map[uint64]uint64
	ring  []byte
	// tail is where the next entry goes; gen counts the times writing
	// went back to the start of the ring.
	tail int
	gen  uint32
	// seen holds fingerprints of tokens opened once and not cached; a
	// slot holds the latest token that hashed to it. 0 is empty.
	seen [cacheSeenSlots]uint32
}

// An entry is a header of entryHeader bytes, then the token, the session
// ID and the data claim's JSON:
//
//	0  token length, uint32
//	4  session ID length, uint32
//	8  data length, uint32
//	12 Created, IssuedAt and Expires: Unix seconds int64, nanoseconds uint32
//
// All integers are little-endian.
const entryHeader = 12 + 3*12

// maxRingBytes bounds a shard's ring, so that an offset in it fits the
// index's 32 bits on every platform: [Config.OpenCacheBytes] counts up to
// 16 times this, 32 GiB.
const maxRingBytes = math.MaxInt32

func newOpenCache(maxBytes int) *openCache {
	return &openCache{ringBytes: min(maxBytes/cacheShards, maxRingBytes), seed: maphash.MakeSeed()}
}

// A cacheRef is where a token goes in the cache: its shard and its hash.
// A miss computes it once for the lookup and the offer that follows.
type cacheRef struct {
	s *cacheShard
	h uint64
}

// locate returns the place of the token whose payload is payload. The hash
// covers the last 32 characters of the payload, which encode its
// authentication tag; collisions cost only a miss, since a hit compares
// the whole token.
func (c *openCache) locate(payload string) cacheRef {
	h := maphash.String(c.seed, payload[len(payload)-32:])
	return cacheRef{&c.shards[h%cacheShards], h}
}

// valid reports whether the entry at pos is still whole in the ring: an
// entry of this generation before the tail, or of the previous one at or
// after it.
func (s *cacheShard) valid(pos uint64) bool {
	gen, off := uint32(pos>>32), int(uint32(pos))
	return gen == s.gen && off < s.tail || gen+1 == s.gen && off >= s.tail
}

// get returns the cached result of decrypting tainted, located at at: the
// metadata, but for KeyID, and a copy of the data claim.
func (c *openCache) get(at cacheRef, tainted string) (Info, []byte, bool) {
	s, h := at.s, at.h
	s.mu.Lock()
	defer s.mu.Unlock()
	pos, ok := s.index[h]
	if !ok || !s.valid(pos) {
		return Info{}, nil, false
	}
	e := s.ring[uint32(pos):]
	le := binary.LittleEndian
	tokenLen, idLen, dataLen := int(le.Uint32(e)), int(le.Uint32(e[4:])), int(le.Uint32(e[8:]))
	body := e[entryHeader:]
	if string(body[:tokenLen]) != tainted {
		return Info{}, nil, false
	}
	body = body[tokenLen:]
	info := Info{
		ID:       string(body[:idLen]),
		Created:  entryTime(e[12:]),
		IssuedAt: entryTime(e[24:]),
		Expires:  entryTime(e[36:]),
	}
	data := make([]byte, dataLen)
	copy(data, body[idLen:])
	return info, data, true
}

func entryTime(b []byte) time.Time {
	le := binary.LittleEndian
	return time.Unix(int64(le.Uint64(b)), int64(le.Uint32(b[8:]))).UTC()
}

func putEntryTime(b []byte, t time.Time) {
	le := binary.LittleEndian
	le.PutUint64(b, uint64(t.Unix()))
	le.PutUint32(b[8:], uint32(t.Nanosecond()))
}

// offer remembers the result of decrypting tainted, located at at, which
// came from a request, if it was offered before: see the type's comment. A
// token without a data claim, which no open accepts, is not remembered.
func (c *openCache) offer(at cacheRef, tainted string, info Info, claims paseto.Token) {
	s, h := at.s, at.h
	// The remainder is taken on the unsigned hash: an int is 32 bits on
	// some platforms, where int(h>>4) may be negative.
	slot, fp := int(h>>4%cacheSeenSlots), uint32(h>>32)|1
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
	var data json.RawMessage
	if claims.Get("data", &data) != nil {
		return
	}
	if data == nil {
		// encoding/json stores a null into the interface go-paseto
		// passes it, instead of into data.
		data = json.RawMessage("null")
	}
	c.insert(s, h, tainted, info, data)
}

// insert writes an entry for token into shard s at the ring's tail, going
// back to the start of the ring when the entry does not fit before its
// end.
func (c *openCache) insert(s *cacheShard, h uint64, token string, info Info, data []byte) {
	size := entryHeader + len(token) + len(info.ID) + len(data)
	if size > c.ringBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index == nil {
		s.index = make(map[uint64]uint64)
	}
	if s.tail+size > len(s.ring) && s.gen == 0 && len(s.ring) < c.ringBytes {
		// Until the ring first fills, it grows: a cache that holds a few
		// sessions takes a few kilobytes. The entries keep their offsets.
		n := max(len(s.ring), cacheRingStart)
		for n < s.tail+size {
			n *= 2
		}
		ring := make([]byte, min(n, c.ringBytes))
		copy(ring, s.ring[:s.tail])
		s.ring = ring
	}
	if s.tail+size > len(s.ring) {
		s.gen++
		s.tail = 0
		// The entries of two generations ago are gone: forget them, so
		// that the index stays within two rings' worth of entries.
		for k, pos := range s.index {
			if !s.valid(pos) {
				delete(s.index, k)
			}
		}
	}
	e := s.ring[s.tail : s.tail+size]
	le := binary.LittleEndian
	le.PutUint32(e, uint32(len(token)))
	le.PutUint32(e[4:], uint32(len(info.ID)))
	le.PutUint32(e[8:], uint32(len(data)))
	putEntryTime(e[12:], info.Created)
	putEntryTime(e[24:], info.IssuedAt)
	putEntryTime(e[36:], info.Expires)
	n := entryHeader
	n += copy(e[n:], token)
	n += copy(e[n:], info.ID)
	copy(e[n:], data)
	s.index[h] = uint64(s.gen)<<32 | uint64(s.tail)
	s.tail += size
}
