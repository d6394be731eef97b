package router

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Methods are matched as bits of a uint64 so that a route's method set is one
// AND. Bits are handed out compactly in order of first use, which keeps the
// table of precomputed Allow values (indexed by mask) small.
const (
	// otherBit stands for every method no route names. Routes that accept
	// any method have all bits set, so they match such methods too.
	otherBit  = uint64(1) << 63
	anyMethod = ^uint64(0)
	// maxMethods is how many distinct method names one Router may use.
	maxMethods = 63
	// maxAllowTable caps the mask-indexed Allow table at 2^12 entries; a
	// router naming more methods fills a cache on first use instead.
	maxAllowTable = 12
)

// stdMethods are the RFC 9110 methods plus PATCH, in the order Allow lists
// them; custom methods follow in byte order.
var stdMethods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

// stdIndex maps a request method to its index in stdMethods, or -1. A switch
// on string(m) compiles to comparisons without converting m.
func stdIndex(m []byte) int {
	switch string(m) {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "PATCH":
		return 4
	case "DELETE":
		return 5
	case "OPTIONS":
		return 6
	case "CONNECT":
		return 7
	case "TRACE":
		return 8
	}
	return -1
}

// methodTable assigns bits to method names and renders Allow values.
type methodTable struct {
	std    [len(stdMethods)]uint64 // bit per standard method, 0 = unused
	custom map[string]uint64       // bit per other method
	names  []string                // names[i] is the method of bit i
	allow  [][]byte                // allow[mask], while len(names) <= maxAllowTable

	// Allow values for masks beyond the table, built on first use. This is a
	// cold path (a 405 on a router with more than 12 method names), so it may
	// allocate once per distinct mask; readers never lock.
	mu    sync.Mutex
	cache atomic.Pointer[map[uint64][]byte]
}

// bitOf returns the bit of a request method; otherBit when no route names it.
func (t *methodTable) bitOf(m []byte) uint64 {
	if i := stdIndex(m); i >= 0 {
		if b := t.std[i]; b != 0 {
			return b
		}
		return otherBit
	}
	if b, ok := t.custom[string(m)]; ok {
		return b
	}
	return otherBit
}

// register returns the bit of method name m, assigning one if needed.
func (t *methodTable) register(m string) (uint64, error) {
	if err := checkToken(m); err != nil {
		return 0, fmt.Errorf("method %q: %v", m, err)
	}
	if strings.ToUpper(m) != m {
		return 0, fmt.Errorf("method %q must be upper-case (methods are case-sensitive)", m)
	}
	if i := stdIndex([]byte(m)); i >= 0 && t.std[i] != 0 {
		return t.std[i], nil
	}
	if b, ok := t.custom[m]; ok {
		return b, nil
	}
	if len(t.names) >= maxMethods {
		return 0, fmt.Errorf("method %q: more than %d distinct methods", m, maxMethods)
	}
	b := uint64(1) << len(t.names)
	t.names = append(t.names, m)
	if i := stdIndex([]byte(m)); i >= 0 {
		t.std[i] = b
	} else {
		if t.custom == nil {
			t.custom = make(map[string]uint64)
		}
		t.custom[m] = b
	}
	if n := len(t.names); n <= maxAllowTable {
		// The table doubles: render the masks that include the new bit.
		for mask := len(t.allow); mask < 1<<n; mask++ {
			t.allow = append(t.allow, t.render(uint64(mask)))
		}
	} else {
		t.allow = nil
	}
	return b, nil
}

// allowFor returns the Allow value for a mask of method bits.
func (t *methodTable) allowFor(mask uint64) []byte {
	mask &^= otherBit
	if mask < uint64(len(t.allow)) {
		return t.allow[mask]
	}
	if m := t.cache.Load(); m != nil {
		if v, ok := (*m)[mask]; ok {
			return v
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cache.Load()
	if old != nil {
		if v, ok := (*old)[mask]; ok {
			return v
		}
	}
	next := make(map[uint64][]byte)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	v := t.render(mask)
	next[mask] = v
	t.cache.Store(&next)
	return v
}

// render joins the names of the bits in mask, standard methods first in
// stdMethods order, then custom ones sorted, as "GET, HEAD, POST".
func (t *methodTable) render(mask uint64) []byte {
	var std, custom []string
	for i, name := range t.names {
		if mask&(1<<i) == 0 {
			continue
		}
		if stdIndex([]byte(name)) >= 0 {
			std = append(std, name)
		} else {
			custom = append(custom, name)
		}
	}
	sort.Slice(std, func(a, b int) bool { return stdIndex([]byte(std[a])) < stdIndex([]byte(std[b])) })
	sort.Strings(custom)
	return []byte(strings.Join(append(std, custom...), ", "))
}

// checkToken reports whether s is a non-empty RFC 9110 token, the syntax of
// both method and header names.
func checkToken(s string) error {
	if s == "" {
		return fmt.Errorf("empty name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return fmt.Errorf("invalid character %q", c)
		}
	}
	return nil
}
