package router

import "fmt"

// node is one node of a byte-level radix trie over route paths. Static text
// is compressed across segment boundaries (one node may hold "/users/"), while
// parameters and wildcards are separate children that can only hang off a node
// whose text ends in '/', so they always start at a segment boundary.
type node struct {
	text     string  // static bytes consumed on entering this node ("" for param/wild nodes)
	indices  []byte  // indices[i] is the first byte of children[i].text
	children []*node // static children, at most one per first byte

	param     *node  // ":name" child: consumes one non-empty segment
	paramName string // its name; one name per position, see Add
	wild      *node  // "*name" child: consumes the rest, possibly empty
	wildName  string
	// Patterns that introduced the param and wild children, for errors.
	paramOwner, wildOwner string

	leaf *leaf // routes whose pattern ends here, nil if none
}

// leaf holds the routes of one host tier that share a path pattern, in the
// order they are tried: more conditions (headers, plus one for an
// accept_version) first, then configuration order.
type leaf struct {
	pattern string
	routes  []route
}

// route is one compiled Spec.
type route struct {
	value   int
	methods uint64 // explicit methods; anyMethod when the Spec lists none
	implied uint64 // HEAD when GET is listed and HEAD is not
	headers []header
	// acceptVersion is Spec.AcceptVersion: "" for no condition.
	acceptVersion string
	describe      string // for error messages
	// fallthrough: a refused method may go on to a less specific route
	// (Spec.MethodFallthrough); otherwise the search stops with a 405.
	fallThrough bool
}

// child returns the static child whose text starts with c.
func (n *node) child(c byte) *node {
	for i, b := range n.indices {
		if b == c {
			return n.children[i]
		}
	}
	return nil
}

// insert walks or extends the trie for the pieces of one pattern and returns
// the node the pattern ends at.
func (n *node) insert(pattern string, pieces []piece) (*node, error) {
	for _, p := range pieces {
		switch p.kind {
		case segStatic:
			n = n.insertStatic(p.text)
		case segParam:
			if n.param == nil {
				n.param, n.paramName, n.paramOwner = &node{}, p.text, pattern
			} else if n.paramName != p.text {
				return nil, fmt.Errorf("%w: parameter \":%s\" in %q is at the same position as \":%s\" in %q; use one name", ErrRouteConflict, p.text, pattern, n.paramName, n.paramOwner)
			}
			n = n.param
		case segWild:
			if n.wild == nil {
				n.wild, n.wildName, n.wildOwner = &node{}, p.text, pattern
			} else if n.wildName != p.text {
				return nil, fmt.Errorf("%w: wildcard \"*%s\" in %q is at the same position as \"*%s\" in %q; use one name", ErrRouteConflict, p.text, pattern, n.wildName, n.wildOwner)
			}
			n = n.wild
		}
	}
	return n, nil
}

// insertStatic descends along s, splitting a node where s diverges from it.
func (n *node) insertStatic(s string) *node {
	for len(s) > 0 {
		i := -1
		for k, b := range n.indices {
			if b == s[0] {
				i = k
				break
			}
		}
		if i < 0 {
			c := &node{text: s}
			n.indices = append(n.indices, s[0])
			n.children = append(n.children, c)
			return c
		}
		c := n.children[i]
		l := 0
		for l < len(c.text) && l < len(s) && c.text[l] == s[l] {
			l++
		}
		if l < len(c.text) {
			// Split c: the shared prefix becomes a new node whose single
			// child keeps c's remaining text and everything below it.
			mid := &node{text: c.text[:l], indices: []byte{c.text[l]}, children: []*node{c}}
			c.text = c.text[l:]
			n.children[i] = mid
			c = mid
		}
		n, s = c, s[l:]
	}
	return n
}

// search is the state of one Match in one host tier. It lives on Match's
// stack; walk takes a pointer to it so the recursion shares it.
type search struct {
	bit   uint64       // the request method's bit
	h     HeaderSource // may be nil
	ps    *Params
	mask  uint64 // methods of header-matching routes that refused the method
	value int
	// stop ends the search: a route matched the path and headers, refused
	// the method and does not let it fall through.
	stop bool
	// ver is the version the Accept header asks for (a view into it, nil
	// for none), read once per Match on the first route that needs it
	// (verRead).
	ver     []byte
	verRead bool
}

// walk matches path (the part not yet consumed) below n, whose own text has
// been consumed. At each position it tries, in order: the routes ending here
// when the path is used up, the static child, a wildcard one '/' further on
// (the bare "/x" of "/x/*"), the parameter child, the wildcard child; it
// backtracks when a choice leads nowhere, unless a route refused the method
// without letting it fall through (s.stop). Each node is entered at most
// once per search, since where a node starts in the path is fixed by the
// nodes above it, so a search is linear in the trie size.
func (s *search) walk(n *node, path []byte) bool {
	// c is the static child that path continues into; with path used up,
	// the one starting with '/', which can only matter to bare.
	var c *node
	if len(path) == 0 {
		if n.leaf != nil && s.try(n.leaf) {
			return true
		}
		if s.stop {
			return false
		}
		c = n.child('/')
	} else if c = n.child(path[0]); c != nil && len(path) >= len(c.text) && string(path[:len(c.text)]) == c.text {
		if s.walk(c, path[len(c.text):]) {
			return true
		}
		if s.stop {
			return false
		}
	}
	if c != nil && c.wild != nil && s.bare(c, path) {
		return true
	}
	if s.stop {
		return false
	}
	if n.param != nil && len(path) > 0 {
		end := 0
		for end < len(path) && path[end] != '/' {
			end++
		}
		if end > 0 {
			k := s.ps.n
			s.ps.push(n.paramName, path[:end])
			if s.walk(n.param, path[end:]) {
				return true
			}
			s.ps.n = k
			if s.stop {
				return false
			}
		}
	}
	if n.wild != nil && n.wild.leaf != nil {
		k := s.ps.n
		s.ps.push(n.wildName, path)
		if s.try(n.wild.leaf) {
			return true
		}
		s.ps.n = k
	}
	return false
}

// bare tries the wildcard routes of "path/*" for path itself, c being the
// static child path leads into: "/api/admin/*" covers "/api/admin", so the
// admin route's middleware runs for it and a less specific route never
// gets it. It applies when c's text is exactly path + "/". The wildcard
// captures "".
func (s *search) bare(c *node, path []byte) bool {
	if c.wild.leaf == nil || len(c.text) != len(path)+1 || c.text[len(path)] != '/' || string(path) != c.text[:len(path)] {
		return false
	}
	k := s.ps.n
	s.ps.push(c.wildName, path[len(path):])
	if s.try(c.wild.leaf) {
		return true
	}
	s.ps.n = k
	return false
}

// try picks the route of l that accepts the request. A route that accepts the
// method only through the HEAD-from-GET rule is kept as a fallback so that an
// explicit HEAD route on the same path wins. Header-matching routes that
// refuse the method add their methods to s.mask for the Allow value.
func (s *search) try(l *leaf) bool {
	fallback, refused := -1, false
	for i := range l.routes {
		r := &l.routes[i]
		if !s.headersMatch(r.headers) || r.acceptVersion != "" && !s.versionMatch(r.acceptVersion) {
			continue
		}
		if r.methods&s.bit != 0 {
			s.value = r.value
			return true
		}
		if r.implied&s.bit != 0 {
			if fallback < 0 {
				fallback = i
			}
			continue
		}
		s.mask |= r.methods | r.implied
		refused = refused || !r.fallThrough
	}
	if fallback >= 0 {
		s.value = l.routes[fallback].value
		return true
	}
	s.stop = refused
	return false
}

func (s *search) headersMatch(hs []header) bool {
	if len(hs) == 0 {
		return true
	}
	if s.h == nil {
		return false
	}
	for i := range hs {
		v := s.h.Header(hs[i].name)
		if v == nil || hs[i].value != "" && string(v) != hs[i].value {
			return false
		}
	}
	return true
}

// versionMatch reports whether the request's Accept header asks for version
// want ("" = no condition). See acceptVersion for how it is read.
func (s *search) versionMatch(want string) bool {
	if want == "" {
		return true
	}
	if !s.verRead {
		s.verRead = true
		if s.h != nil {
			s.ver = acceptVersion(s.h.Header("Accept"))
		}
	}
	return s.ver != nil && string(s.ver) == want
}
