package auth

import (
	"math/bits"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// MaxCachedToken is the longest token Cache keeps; longer ones are
// verified every time rather than pinning their bytes in memory.
const MaxCachedToken = 8 << 10

// Cache remembers verified tokens so a hot token is not re-verified on
// every request. It is a fixed array of slots indexed by the token's
// xxhash: a new entry overwrites whatever shared its slot, so memory is
// bounded by size entries (each holding a copy of its token, at most
// MaxCachedToken bytes, and the caller's value). Slots are atomic pointers
// to immutable entries: Get and Put are lock-free, O(1) and safe from any
// goroutine, and Get allocates nothing.
//
// An entry answers only for the exact token bytes it was made from (the
// full token is compared, so a hash collision is a miss), until its expiry
// (the token's exp), and only while the key set generation it was
// verified under is current. A nil *Cache is valid and caches nothing.
type Cache[V any] struct {
	slots []atomic.Pointer[cacheEntry[V]]
}

type cacheEntry[V any] struct {
	hash    uint64
	expires int64 // unix ns; the entry is dead from then on
	gen     uint64
	token   string
	val     V
}

// NewCache returns a cache of size slots, or nil (no caching) when size
// <= 0.
func NewCache[V any](size int) *Cache[V] {
	if size <= 0 {
		return nil
	}
	return &Cache[V]{slots: make([]atomic.Pointer[cacheEntry[V]], size)}
}

// slot maps a hash onto the slots without a modulo (Lemire's reduction).
func (c *Cache[V]) slot(h uint64) *atomic.Pointer[cacheEntry[V]] {
	hi, _ := bits.Mul64(h, uint64(len(c.slots)))
	return &c.slots[hi]
}

// Get returns the value cached for token if it is still valid at now (unix
// ns) under key set generation gen. Any goroutine; no allocation.
func (c *Cache[V]) Get(token []byte, now int64, gen uint64) (v V, ok bool) {
	if c == nil {
		return v, false
	}
	h := xxhash.Sum64(token)
	e := c.slot(h).Load()
	if e == nil || e.hash != h || e.gen != gen || now >= e.expires || e.token != string(token) {
		return v, false
	}
	return e.val, true
}

// Put caches val for token until expires (unix ns) under generation gen.
// Tokens longer than MaxCachedToken are not cached. Any goroutine.
func (c *Cache[V]) Put(token []byte, expires int64, gen uint64, val V) {
	if c == nil || len(token) > MaxCachedToken {
		return
	}
	h := xxhash.Sum64(token)
	c.slot(h).Store(&cacheEntry[V]{hash: h, expires: expires, gen: gen, token: string(token), val: val})
}

// Len counts live entries at now (a linear scan, for tests and metrics).
func (c *Cache[V]) Len(now int64) int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.slots {
		if e := c.slots[i].Load(); e != nil && now < e.expires {
			n++
		}
	}
	return n
}
