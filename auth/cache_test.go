package auth

import (
	"fmt"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	c := NewCache[string](16)
	tok := []byte("header.payload.signature")
	const now, exp, gen = 1000, 2000, 7
	c.Put(tok, exp, gen, "alice")
	cases := []struct {
		name   string
		tok    []byte
		now    int64
		gen    uint64
		want   string
		wantOK bool
	}{
		{"hit", tok, now, gen, "alice", true},
		{"just before exp", tok, exp - 1, gen, "alice", true},
		{"at exp", tok, exp, gen, "", false},
		{"other key set", tok, now, gen + 1, "", false},
		{"other token", []byte("header.payload.signaturX"), now, gen, "", false},
	}
	for _, tc := range cases {
		got, ok := c.Get(tc.tok, tc.now, tc.gen)
		if ok != tc.wantOK || got != tc.want {
			t.Errorf("%s: Get = %q, %v", tc.name, got, ok)
		}
	}
	if n := c.Len(now); n != 1 {
		t.Errorf("Len = %d", n)
	}
	// Too long to cache.
	long := make([]byte, MaxCachedToken+1)
	c.Put(long, exp, gen, "bob")
	if _, ok := c.Get(long, now, gen); ok {
		t.Error("an over-long token was cached")
	}
	// A nil cache (size 0) caches nothing and does not panic.
	var off *Cache[string] = NewCache[string](0)
	off.Put(tok, exp, gen, "x")
	if _, ok := off.Get(tok, now, gen); ok || off.Len(now) != 0 {
		t.Error("disabled cache returned a value")
	}
}

// TestCacheCollision: with one slot every token collides; the full token
// comparison turns a collision into a miss, never a wrong answer.
func TestCacheCollision(t *testing.T) {
	c := NewCache[string](1)
	c.Put([]byte("token-a"), 10, 1, "a")
	c.Put([]byte("token-b"), 10, 1, "b")
	if v, ok := c.Get([]byte("token-a"), 0, 1); ok {
		t.Errorf("token-a answered %q after being evicted", v)
	}
	if v, ok := c.Get([]byte("token-b"), 0, 1); !ok || v != "b" {
		t.Errorf("token-b = %q, %v", v, ok)
	}
	// Forge a colliding hash: same slot, same hash, other bytes.
	e := c.slots[0].Load()
	c.slots[0].Store(&cacheEntry[string]{hash: e.hash, expires: 10, gen: 1, token: "token-c", val: "c"})
	if v, ok := c.Get([]byte("token-b"), 0, 1); ok {
		t.Errorf("hash collision answered %q", v)
	}
}

func TestCacheBounded(t *testing.T) {
	c := NewCache[int](100)
	for i := range 10000 {
		c.Put(fmt.Appendf(nil, "tok-%d", i), 1<<62, 1, i)
	}
	if n := c.Len(0); n > 100 {
		t.Errorf("%d entries in a cache of 100", n)
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache[int](64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				tok := fmt.Appendf(nil, "tok-%d", i%200)
				if v, ok := c.Get(tok, 0, 1); ok && v != i%200 {
					t.Errorf("goroutine %d: %s -> %d", g, tok, v)
					return
				}
				c.Put(tok, 1<<62, 1, i%200)
			}
		}()
	}
	wg.Wait()
}

func TestCacheGetAllocs(t *testing.T) {
	c := NewCache[*Token](1024)
	tok := []byte("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
	c.Put(tok, 1<<62, 1, &Token{})
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Get(tok, 5, 1); !ok {
			panic("miss")
		}
	}); n != 0 {
		t.Errorf("Get allocates %v times per hit", n)
	}
}
