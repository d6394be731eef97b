package router

import (
	"fmt"
	"net/textproto"
	"sort"
	"strings"
)

// Spec describes one route as configured. The zero value is not a valid
// route: Path is required.
type Spec struct {
	// Host restricts the route to one host. "" (the zero value) matches any
	// host; "api.example.com" matches exactly (case-insensitive, the request's
	// port and a trailing dot ignored); "*.example.com" matches any subdomain,
	// one or more labels deep, of example.com but not example.com itself.
	Host string
	// Path is the pattern: static segments, ":name" for one non-empty
	// segment, and as the last segment "*name" (or "*", captured as "*") for
	// the rest of the path including slashes, possibly empty. It must start
	// with '/' and already be in the form Normalize produces.
	Path string
	// Methods lists the accepted methods as upper-case tokens; nil or empty
	// (the zero value) accepts any method. GET also accepts HEAD.
	Methods []string
	// Headers must all be present on the request. A non-empty value must
	// equal the header value exactly (case-sensitive); "" only requires the
	// header to be present. Names are case-insensitive. Nil: no condition.
	Headers map[string]string
	// AcceptVersion, when not "" (the zero value: no condition), requires
	// the request's Accept header to ask for this API version: 1 to 9
	// decimal digits without a leading zero, compared with the version of
	// the preferred media range that names one, either as a vendor subtype
	// label ("application/vnd.example.v2+json") or a "version=2" parameter
	// (see acceptVersion for the exact reading). It counts as one condition
	// when routes at the same pattern are ordered, so a route without it at
	// the same host and path is the default version.
	AcceptVersion string
	// MethodFallthrough lets a request whose path (and headers) this route
	// matches but whose method it refuses go on to a less specific route.
	// The zero value, false, answers 405 with Allow instead, so a method
	// the route does not list cannot reach a catch-all route with weaker
	// middleware.
	MethodFallthrough bool
	// Value is returned by Match when this route is chosen; Sluice uses it
	// as an index into its route table. The zero value is a valid index.
	Value int
}

// segKind is the kind of one piece of a parsed route path.
type segKind uint8

const (
	segStatic segKind = iota // literal bytes, slashes included
	segParam                 // ":name", one non-empty segment
	segWild                  // "*name", the rest of the path
)

// piece is one piece of a parsed route path. Static pieces keep their slashes
// so the trie can compress across segment boundaries: "/users/:id/posts" is
// static "/users/", param "id", static "/posts".
type piece struct {
	kind segKind
	text string // static text, or the parameter name
}

// parsePath splits a route pattern into pieces, enforcing the syntax rules.
func parsePath(p string) ([]piece, error) {
	if p == "" || p[0] != '/' {
		return nil, fmt.Errorf("path %q must start with '/'", p)
	}
	// Patterns are matched against normalised request paths, so a pattern
	// that is not normalised could never match; say how to write it.
	// Requests are checked against the policy in force; a pattern only has
	// to be a fixed point of the most permissive one.
	if norm, err := (Policy{EscapedSlashesKeep, PathParamsKeep}).Normalize(nil, []byte(p)); err != nil {
		return nil, fmt.Errorf("path %q: %v", p, err)
	} else if string(norm) != p {
		return nil, fmt.Errorf("path %q is not in normal form (requests are normalised before matching); write %q", p, norm)
	}
	var out []piece
	var static strings.Builder
	names := map[string]bool{}
	segs := strings.Split(p[1:], "/")
	static.WriteByte('/')
	for i, seg := range segs {
		last := i == len(segs)-1
		switch {
		case strings.HasPrefix(seg, ":"):
			name := seg[1:]
			if name == "" {
				return nil, fmt.Errorf("path %q: segment %d: empty parameter name after ':'", p, i+1)
			}
			if strings.ContainsAny(name, ":*") {
				return nil, fmt.Errorf("path %q: segment %d: parameter name %q may not contain ':' or '*'", p, i+1, name)
			}
			if names[name] {
				return nil, fmt.Errorf("path %q: parameter name %q is used twice", p, name)
			}
			names[name] = true
			out = append(out, piece{segStatic, static.String()}, piece{segParam, name})
			static.Reset()
		case strings.HasPrefix(seg, "*"):
			if !last {
				return nil, fmt.Errorf("path %q: segment %d: wildcard %q must be the last segment", p, i+1, seg)
			}
			name := seg[1:]
			if name == "" {
				name = "*"
			} else if strings.ContainsAny(name, ":*") {
				return nil, fmt.Errorf("path %q: wildcard name %q may not contain ':' or '*'", p, name)
			}
			if names[name] {
				return nil, fmt.Errorf("path %q: parameter name %q is used twice", p, name)
			}
			names[name] = true
			out = append(out, piece{segStatic, static.String()}, piece{segWild, name})
			static.Reset()
		default:
			static.WriteString(seg)
		}
		if !last {
			static.WriteByte('/')
		}
	}
	if static.Len() > 0 {
		out = append(out, piece{segStatic, static.String()})
	}
	if len(names) > MaxParams {
		return nil, fmt.Errorf("path %q declares %d parameters; at most %d are allowed", p, len(names), MaxParams)
	}
	return out, nil
}

// header is one compiled header condition.
type header struct {
	name  string // canonical form, e.g. "X-Api-Version"
	value string // "" = present
}

// parseHeaders validates and sorts a Spec's header conditions, so that two
// specs with the same conditions compare equal as slices.
func parseHeaders(m map[string]string) ([]header, error) {
	if len(m) == 0 {
		return nil, nil
	}
	hs := make([]header, 0, len(m))
	seen := map[string]string{}
	for name, v := range m {
		if err := checkToken(name); err != nil {
			return nil, fmt.Errorf("header name %q: %v", name, err)
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if prev, ok := seen[canon]; ok {
			return nil, fmt.Errorf("header %q is given twice (as %q and %q)", canon, prev, name)
		}
		seen[canon] = name
		hs = append(hs, header{canon, v})
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].name < hs[j].name })
	return hs, nil
}

func sameHeaders(a, b []header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
