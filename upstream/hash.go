package upstream

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// HashKind is where a consistent-hash key comes from.
type HashKind uint8

const (
	// HashNone: no key (balancers other than ConsistentHash).
	HashNone HashKind = iota
	// HashHeader: the value of the request header HashOn.Name.
	HashHeader
	// HashCookie: the value of the cookie HashOn.Name.
	HashCookie
	// HashIP: the client's IP address.
	HashIP
)

// HashOn says how the engine computes the key it passes to Select for a
// ConsistentHash cluster. The zero value is HashNone.
type HashOn struct {
	Kind HashKind
	// Name is the header name (compare case-insensitively) or the cookie
	// name (case-sensitive), as configured. Empty for HashIP and HashNone.
	Name string
}

// String returns the config form: "header:NAME", "cookie:NAME", "ip" or "".
func (h HashOn) String() string {
	switch h.Kind {
	case HashHeader:
		return "header:" + h.Name
	case HashCookie:
		return "cookie:" + h.Name
	case HashIP:
		return "ip"
	}
	return ""
}

// ParseHashOn parses the config form of HashOn ("header:X-User-ID",
// "cookie:session", "ip"). The config package has validated the name.
func ParseHashOn(s string) (HashOn, error) {
	if s == "ip" {
		return HashOn{Kind: HashIP}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if ok && name != "" {
		switch kind {
		case "header":
			return HashOn{Kind: HashHeader, Name: name}, nil
		case "cookie":
			return HashOn{Kind: HashCookie, Name: name}, nil
		}
	}
	return HashOn{}, fmt.Errorf("upstream: invalid hash_on %q (use header:NAME, cookie:NAME or ip)", s)
}

// HashKey turns a request's key bytes (a header or cookie value) into the
// key Select takes. It never returns 0, which Select reads as "no key".
// Any goroutine; no allocation.
func HashKey(b []byte) uint64 {
	if h := xxhash.Sum64(b); h != 0 {
		return h
	}
	return 1
}

// HashAddr is HashKey for a client address (HashIP); IPv4 and IPv4-mapped IPv6 forms
// of the same address give the same key. No allocation.
func HashAddr(ip netip.Addr) uint64 {
	a := ip.Unmap().As16()
	return HashKey(a[:])
}
