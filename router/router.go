package router

import (
	"fmt"
	"strings"
)

// HeaderSource gives the matcher access to request headers without
// allocation. Header returns the value of the named header, or nil when it is
// absent; an empty non-nil slice means present with an empty value. The name
// is passed in canonical form ("X-Api-Version") and implementations must
// compare names case-insensitively. *http1.Request satisfies it.
type HeaderSource interface {
	Header(name string) []byte
}

// Result is the outcome of Match.
type Result uint8

const (
	// Found means a route accepted the request; Match returned its Value.
	Found Result = iota
	// NotFound means no route's host, path and headers fit (a 404).
	NotFound
	// MethodNotAllowed means routes fit the path and headers but none accepts
	// the method (a 405); Match returned the Allow header value.
	MethodNotAllowed
)

// String returns the result's name, for logs and test failures.
func (r Result) String() string {
	switch r {
	case Found:
		return "Found"
	case NotFound:
		return "NotFound"
	case MethodNotAllowed:
		return "MethodNotAllowed"
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// tier is the trie of the routes of one host (or of every host).
type tier struct {
	root node
}

// Router maps (host, method, path, headers) to a route's Value. Build it with
// New and Add, then share it: once the last Add has returned, the Router is
// never written again and Match is safe from any number of goroutines without
// locks. Add must not run concurrently with Add or Match (build a new Router
// on reload and swap the pointer instead). The zero value is not usable; call
// New.
type Router struct {
	anyHost *tier            // Spec.Host == ""
	exact   map[string]*tier // "api.example.com"
	wild    map[string]*tier // "*.example.com" keyed by ".example.com"
	methods methodTable
	n       int
}

// New returns an empty Router, on which every Match is NotFound.
func New() *Router {
	return &Router{exact: map[string]*tier{}, wild: map[string]*tier{}}
}

// Len returns the number of routes added.
func (r *Router) Len() int { return r.n }

// Add compiles one route. It fails, leaving the Router as it was except for
// nodes and method names that no route uses yet, when the Spec is malformed
// (ErrInvalidRoute), names a parameter differently from an earlier route at
// the same position (ErrRouteConflict), or repeats an earlier route's host,
// path and headers with overlapping methods (ErrDuplicateRoute). The error
// text names the route and what to change. Not safe for concurrent use.
func (r *Router) Add(s Spec) error {
	desc := describe(s)
	kind, key, err := parseSpecHost(s.Host)
	if err != nil {
		return fmt.Errorf("router: route %s: %w: %v", desc, ErrInvalidRoute, err)
	}
	pieces, err := parsePath(s.Path)
	if err != nil {
		return fmt.Errorf("router: route %s: %w: %v", desc, ErrInvalidRoute, err)
	}
	hs, err := parseHeaders(s.Headers)
	if err != nil {
		return fmt.Errorf("router: route %s: %w: %v", desc, ErrInvalidRoute, err)
	}
	if err := checkAcceptVersion(s.AcceptVersion); err != nil {
		return fmt.Errorf("router: route %s: %w: %v", desc, ErrInvalidRoute, err)
	}
	rt := route{value: s.Value, headers: hs, acceptVersion: s.AcceptVersion, describe: desc, fallThrough: s.MethodFallthrough}
	if len(s.Methods) == 0 {
		rt.methods = anyMethod
	}
	for _, m := range s.Methods {
		b, err := r.methods.register(m)
		if err != nil {
			return fmt.Errorf("router: route %s: %w: %v", desc, ErrInvalidRoute, err)
		}
		rt.methods |= b
	}
	// GET accepts HEAD, as in net/http: an upstream serving GET answers HEAD
	// with the same headers, and the gateway frames HEAD responses itself.
	if hasMethod(s.Methods, "GET") && !hasMethod(s.Methods, "HEAD") {
		b, err := r.methods.register("HEAD")
		if err != nil {
			return fmt.Errorf("router: route %s: %w: %v", desc, ErrInvalidRoute, err)
		}
		rt.implied = b
	}

	t := r.tierFor(kind, key)
	end, err := t.root.insert(s.Path, pieces)
	if err != nil {
		return fmt.Errorf("router: route %s: %w", desc, err)
	}
	if end.leaf == nil {
		end.leaf = &leaf{pattern: s.Path}
	}
	l := end.leaf
	for _, o := range l.routes {
		if sameHeaders(o.headers, rt.headers) && o.acceptVersion == rt.acceptVersion && o.methods&rt.methods != 0 {
			return fmt.Errorf("router: route %s: %w: same host, path, headers, accept_version and overlapping methods as route %s", desc, ErrDuplicateRoute, o.describe)
		}
	}
	// Keep routes ordered by number of conditions, descending, and in
	// configuration order among equals: insert after the last route with at
	// least as many conditions. So a route with a header or accept_version
	// condition is tried before a route at the same pattern without one,
	// which thereby serves as the default version.
	at := len(l.routes)
	for at > 0 && l.routes[at-1].conditions() < rt.conditions() {
		at--
	}
	l.routes = append(l.routes, route{})
	copy(l.routes[at+1:], l.routes[at:])
	l.routes[at] = rt
	r.n++
	return nil
}

func (r *Router) tierFor(kind hostKind, key string) *tier {
	var m map[string]*tier
	switch kind {
	case hostAny:
		if r.anyHost == nil {
			r.anyHost = &tier{}
		}
		return r.anyHost
	case hostExact:
		m = r.exact
	default:
		m = r.wild
	}
	t := m[key]
	if t == nil {
		t = &tier{}
		m[key] = t
	}
	return t
}

// conditions counts a route's header conditions plus one for an
// accept_version, the key that orders the routes of a leaf.
func (rt *route) conditions() int {
	n := len(rt.headers)
	if rt.acceptVersion != "" {
		n++
	}
	return n
}

// Match finds the route for a request. path must already be normalised (see
// Normalize); host is the Host header (a port and trailing dot are ignored);
// h may be nil when no route has header or accept_version conditions, and
// routes with such conditions then never match.
//
// On Found it returns the route's Value and fills ps with the captured
// parameters (views into path). On MethodNotAllowed it returns -1 and the
// Allow header value, a shared read-only slice that must not be modified. On
// NotFound it returns -1 and nil. ps is reset unless the result is Found.
//
// Match does not allocate and takes no locks (any goroutine).
func (r *Router) Match(host, method, path []byte, h HeaderSource, ps *Params) (value int, res Result, allow []byte) {
	ps.Reset()
	if len(path) == 0 || path[0] != '/' {
		return -1, NotFound, nil
	}
	s := search{bit: r.methods.bitOf(method), h: h, ps: ps}
	if len(r.exact) > 0 || len(r.wild) > 0 {
		var buf [maxHost]byte
		if key, ok := requestHostKey(&buf, host); ok {
			if t := r.exact[string(key)]; t != nil {
				if res, allow := r.run(&s, t, path); res != NotFound {
					return s.value, res, allow
				}
			}
			if len(r.wild) > 0 {
				// Suffixes from the longest down, so *.a.example.com is
				// tried before *.example.com. i > 0: the wildcard needs at
				// least one label of its own.
				for i := 1; i < len(key); i++ {
					if key[i] != '.' {
						continue
					}
					if t := r.wild[string(key[i:])]; t != nil {
						if res, allow := r.run(&s, t, path); res != NotFound {
							return s.value, res, allow
						}
					}
				}
			}
		}
	}
	if r.anyHost != nil {
		if res, allow := r.run(&s, r.anyHost, path); res != NotFound {
			return s.value, res, allow
		}
	}
	return -1, NotFound, nil
}

// run searches one host tier. A tier where the path matched but the method
// did not answers 405 by itself: falling through to a less specific host
// would route a request for api.example.com to a catch-all backend just
// because it used another method.
func (r *Router) run(s *search, t *tier, path []byte) (Result, []byte) {
	s.mask, s.stop = 0, false // s.ver stays: the Accept header is the same in every tier
	if s.walk(&t.root, path) {
		return Found, nil
	}
	s.ps.Reset()
	s.value = -1
	if s.mask != 0 {
		return MethodNotAllowed, r.methods.allowFor(s.mask)
	}
	return NotFound, nil
}

func hasMethod(ms []string, m string) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// describe renders a Spec for error messages: host, path and methods.
func describe(s Spec) string {
	var b strings.Builder
	b.WriteByte('"')
	if s.Host != "" {
		b.WriteString(s.Host)
		b.WriteByte(' ')
	}
	b.WriteString(s.Path)
	if len(s.Methods) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(s.Methods, " "))
		b.WriteByte(']')
	}
	b.WriteByte('"')
	return b.String()
}
