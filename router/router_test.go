package router

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// hdrs is a test HeaderSource: names compared case-insensitively, as
// *http1.Request does.
type hdrs map[string]string

func (h hdrs) Header(name string) []byte {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return []byte(v)
		}
	}
	return nil
}

type matchCase struct {
	name    string // what the case pins
	host    string
	method  string
	path    string
	headers hdrs
	want    int
	res     Result
	params  string // "k=v,k=v" in path order; "" = none
	allow   string
}

func build(t testing.TB, specs []Spec) *Router {
	t.Helper()
	r := New()
	for _, s := range specs {
		if err := r.Add(s); err != nil {
			t.Fatalf("Add(%+v): %v", s, err)
		}
	}
	return r
}

func fmtParams(ps *Params) string {
	var parts []string
	for i := 0; i < ps.Len(); i++ {
		k, v := ps.At(i)
		parts = append(parts, k+"="+string(v))
	}
	return strings.Join(parts, ",")
}

func runCases(t *testing.T, r *Router, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "GET"
			}
			var h HeaderSource
			if c.headers != nil {
				h = c.headers
			}
			var ps Params
			v, res, allow := r.Match([]byte(c.host), []byte(method), []byte(c.path), h, &ps)
			want := c.want
			if c.res != Found {
				want = -1
			}
			if v != want || res != c.res || string(allow) != c.allow {
				t.Fatalf("Match(%q, %s, %q) = %d, %v, %q; want %d, %v, %q", c.host, method, c.path, v, res, allow, want, c.res, c.allow)
			}
			if got := fmtParams(&ps); got != c.params {
				t.Fatalf("params = %q; want %q", got, c.params)
			}
		})
	}
}

func TestMatchPaths(t *testing.T) {
	r := build(t, []Spec{
		{Path: "/", Value: 1},
		{Path: "/users", Value: 2},
		{Path: "/users/", Value: 3},
		{Path: "/users/new", Value: 4},
		{Path: "/users/:id", Value: 5},
		{Path: "/users/:id/posts", Value: 6},
		{Path: "/users/:id/posts/:post", Value: 7},
		{Path: "/users/*rest", Value: 8},
		{Path: "/files/*path", Value: 9},
		{Path: "/api/*", Value: 10},
		{Path: "/api/v1/health", Value: 11},
		{Path: "/ab", Value: 12},
		{Path: "/:top", Value: 13},
		{Path: "/a:b/c*d", Value: 14},
		{Path: "/x/:a/:b/:c/:d/:e/:f/:g/:h", Value: 15},
	})
	runCases(t, r, []matchCase{
		{name: "root", path: "/", want: 1},
		{name: "static", path: "/users", want: 2},
		{name: "trailing slash is a different path", path: "/users/", want: 3},
		{name: "static beats param", path: "/users/new", want: 4},
		{name: "param", path: "/users/42", want: 5, params: "id=42"},
		{name: "static prefix of a param value backtracks to the param", path: "/users/newer", want: 5, params: "id=newer"},
		{name: "param then static", path: "/users/42/posts", want: 6, params: "id=42"},
		{name: "two params", path: "/users/42/posts/7", want: 7, params: "id=42,post=7"},
		{name: "param branch dead end falls back to wildcard", path: "/users/42/likes", want: 8, params: "rest=42/likes"},
		{name: "deep path falls back to wildcard", path: "/users/42/posts/7/x", want: 8, params: "rest=42/posts/7/x"},
		{name: "named wildcard with slashes", path: "/files/a/b/c.txt", want: 9, params: "path=a/b/c.txt"},
		{name: "wildcard with empty remainder", path: "/files/", want: 9, params: "path="},
		// Issue 12: "/x/*" covers the bare "/x", ahead of the less
		// specific "/:top" (which static text beats anyway).
		{name: "wildcard covers its bare prefix", path: "/files", want: 9, params: "path="},
		{name: "unnamed wildcard", path: "/api/v2/x", want: 10, params: "*=v2/x"},
		{name: "static beats unnamed wildcard", path: "/api/v1/health", want: 11},
		{name: "partial static falls back to wildcard", path: "/api/v1/healthz", want: 10, params: "*=v1/healthz"},
		{name: "static at root level", path: "/ab", want: 12},
		{name: "param at root level", path: "/abc", want: 13, params: "top=abc"},
		{name: "param does not match empty segment", path: "//", res: NotFound},
		{name: "param does not cross slash", path: "/abc/def", res: NotFound},
		{name: "':' and '*' inside a segment are literal", path: "/a:b/c*d", want: 14},
		{name: "eight params", path: "/x/1/2/3/4/5/6/7/8", want: 15, params: "a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8"},
		{name: "empty path", path: "", res: NotFound},
		{name: "relative path", path: "users", res: NotFound},
	})
}

func TestMatchHosts(t *testing.T) {
	r := build(t, []Spec{
		{Host: "api.example.com", Path: "/v/:x", Value: 1},
		{Host: "*.a.example.com", Path: "/v/:x", Value: 2},
		{Host: "*.example.com", Path: "/v/:x", Value: 3},
		{Path: "/v/:x", Value: 4},
		{Host: "api.example.com", Path: "/only-exact", Methods: []string{"POST"}, Value: 5},
		{Path: "/only-exact", Value: 6},
		{Host: "*.example.com", Path: "/fallthrough", Value: 7},
		{Path: "/other", Value: 8},
		{Host: "[::1]", Path: "/v6", Value: 9},
		{Host: "Mixed.Example.ORG.", Path: "/m", Value: 10},
	})
	runCases(t, r, []matchCase{
		{name: "exact host", host: "api.example.com", path: "/v/1", want: 1, params: "x=1"},
		{name: "exact host ignores port", host: "api.example.com:8443", path: "/v/1", want: 1, params: "x=1"},
		{name: "exact host ignores case", host: "API.Example.Com", path: "/v/1", want: 1, params: "x=1"},
		{name: "exact host ignores trailing dot", host: "api.example.com.:80", path: "/v/1", want: 1, params: "x=1"},
		{name: "longest wildcard suffix first", host: "x.a.example.com", path: "/v/1", want: 2, params: "x=1"},
		{name: "wildcard covers several labels", host: "x.y.b.example.com", path: "/v/1", want: 3, params: "x=1"},
		{name: "wildcard needs a label of its own", host: "example.com", path: "/v/1", want: 4, params: "x=1"},
		{name: "a.example.com is in *.example.com, not *.a.example.com", host: "a.example.com", path: "/v/1", want: 3, params: "x=1"},
		{name: "unknown host uses any-host routes", host: "other.org", path: "/v/1", want: 4, params: "x=1"},
		{name: "empty host uses any-host routes", host: "", path: "/v/1", want: 4, params: "x=1"},
		{name: "path miss in a host tier falls through", host: "api.example.com", path: "/other", want: 8},
		{name: "path miss in exact and wildcard tiers falls through to wildcard", host: "api.example.com", path: "/fallthrough", want: 7},
		{name: "method miss in a host tier is a 405 for that tier", host: "api.example.com", method: "GET", path: "/only-exact", res: MethodNotAllowed, allow: "POST"},
		{name: "other hosts reach the catch-all", host: "www.example.com", path: "/only-exact", want: 6},
		{name: "IPv6 literal with port", host: "[::1]:8080", path: "/v6", want: 9},
		{name: "configured host is case- and dot-insensitive", host: "mixed.example.org", path: "/m", want: 10},
		{name: "host-only route does not leak to other hosts", host: "example.org", path: "/m", res: NotFound},
	})
}

func TestMatchMethods(t *testing.T) {
	r := build(t, []Spec{
		{Path: "/items", Methods: []string{"GET"}, Value: 1},
		{Path: "/items", Methods: []string{"POST", "PUT"}, Value: 2},
		{Path: "/head", Methods: []string{"GET"}, Value: 3},
		{Path: "/head", Methods: []string{"HEAD"}, Value: 4},
		{Path: "/any", Value: 5},
		{Path: "/users/me", Methods: []string{"GET"}, Value: 7},
		{Path: "/users/:id", Methods: []string{"POST"}, Value: 8},
		{Path: "/users/*rest", Methods: []string{"PATCH"}, Value: 9},
		{Path: "/dav", Methods: []string{"PROPFIND", "MKCOL"}, Value: 10},
	})
	runCases(t, r, []matchCase{
		{name: "GET", method: "GET", path: "/items", want: 1},
		{name: "second route's method", method: "PUT", path: "/items", want: 2},
		{name: "GET implies HEAD", method: "HEAD", path: "/items", want: 1},
		{name: "405 lists the union in canonical order", method: "DELETE", path: "/items", res: MethodNotAllowed, allow: "GET, HEAD, POST, PUT"},
		{name: "unknown method is 405", method: "BREW", path: "/items", res: MethodNotAllowed, allow: "GET, HEAD, POST, PUT"},
		{name: "explicit HEAD beats implied HEAD", method: "HEAD", path: "/head", want: 4},
		{name: "any-method route never 405", method: "BREW", path: "/any", want: 5},
		{name: "static with GET", method: "GET", path: "/users/me", want: 7},
		// Issue 12: a method miss on the most specific route is a 405,
		// never a less specific route's request (see
		// TestMethodFallthrough for the opt-in).
		{name: "method miss on static stops at static", method: "POST", path: "/users/me", res: MethodNotAllowed, allow: "GET, HEAD"},
		{name: "method miss on param stops at param", method: "PATCH", path: "/users/42", res: MethodNotAllowed, allow: "POST"},
		{name: "wildcard reached when nothing more specific matches the path", method: "PATCH", path: "/users/42/x", want: 9, params: "rest=42/x"},
		{name: "custom methods sorted after standard ones", method: "GET", path: "/dav", res: MethodNotAllowed, allow: "MKCOL, PROPFIND"},
		{name: "custom method", method: "MKCOL", path: "/dav", want: 10},
		{name: "methods are case-sensitive", method: "get", path: "/items", res: MethodNotAllowed, allow: "GET, HEAD, POST, PUT"},
	})
}

func TestMatchHeaders(t *testing.T) {
	r := build(t, []Spec{
		{Path: "/h", Value: 1},
		{Path: "/h", Headers: map[string]string{"X-Api-Version": "2"}, Value: 2},
		{Path: "/h", Headers: map[string]string{"x-api-version": "2", "X-Beta": ""}, Value: 3},
		{Path: "/h", Headers: map[string]string{"X-Tenant": "a"}, Methods: []string{"POST"}, Value: 4},
		{Path: "/only", Headers: map[string]string{"X-Key": ""}, Methods: []string{"GET"}, Value: 5},
	})
	runCases(t, r, []matchCase{
		{name: "no headers: route without conditions", path: "/h", want: 1},
		{name: "nil HeaderSource skips header routes", path: "/h", headers: nil, want: 1},
		{name: "header value match", path: "/h", headers: hdrs{"x-api-version": "2"}, want: 2},
		{name: "values are case-sensitive and exact", path: "/h", headers: hdrs{"X-Api-Version": "2.0"}, want: 1},
		{name: "more conditions first", path: "/h", headers: hdrs{"X-Api-Version": "2", "X-Beta": "yes"}, want: 3},
		{name: "empty value means present, even if empty", path: "/h", headers: hdrs{"X-Api-Version": "2", "X-Beta": ""}, want: 3},
		{name: "header route with wrong method falls to others", path: "/h", headers: hdrs{"X-Tenant": "a"}, want: 1},
		{name: "header route with its method", method: "POST", path: "/h", headers: hdrs{"X-Tenant": "a"}, want: 4},
		{name: "headers unmatched: path not found", path: "/only", res: NotFound},
		{name: "headers matched, method not: 405", method: "POST", path: "/only", headers: hdrs{"X-Key": "k"}, res: MethodNotAllowed, allow: "GET, HEAD"},
		{name: "headers unmatched and method wrong: 404, not 405", method: "POST", path: "/only", headers: hdrs{"X-Other": "k"}, res: NotFound},
	})
}

func TestAddErrors(t *testing.T) {
	cases := []struct {
		name  string // what the case pins
		prior []Spec
		spec  Spec
		is    error
		text  string // substring of the message
	}{
		{name: "empty path", spec: Spec{Path: ""}, is: ErrInvalidRoute, text: "must start with '/'"},
		{name: "relative path", spec: Spec{Path: "users"}, is: ErrInvalidRoute, text: "must start with '/'"},
		{name: "empty param name", spec: Spec{Path: "/a/:"}, is: ErrInvalidRoute, text: "empty parameter name"},
		{name: "wildcard not last", spec: Spec{Path: "/a/*x/b"}, is: ErrInvalidRoute, text: "must be the last segment"},
		{name: "unnamed wildcard not last", spec: Spec{Path: "/a/*/b"}, is: ErrInvalidRoute, text: "must be the last segment"},
		{name: "param name used twice", spec: Spec{Path: "/a/:id/b/:id"}, is: ErrInvalidRoute, text: "used twice"},
		{name: "too many params", spec: Spec{Path: "/:a/:b/:c/:d/:e/:f/:g/:h/:i"}, is: ErrInvalidRoute, text: "at most 8"},
		{name: "not normalised: double slash", spec: Spec{Path: "/a//b"}, is: ErrInvalidRoute, text: `write "/a/b"`},
		{name: "not normalised: dot segment", spec: Spec{Path: "/a/../b"}, is: ErrInvalidRoute, text: `write "/b"`},
		{name: "not normalised: encoded unreserved", spec: Spec{Path: "/%7euser"}, is: ErrInvalidRoute, text: `write "/~user"`},
		{name: "escaping path", spec: Spec{Path: "/.."}, is: ErrInvalidRoute, text: "escapes"},
		{name: "conflicting param names", prior: []Spec{{Path: "/a/:id"}}, spec: Spec{Path: "/a/:name/x"}, is: ErrRouteConflict, text: `":id" in "/a/:id"`},
		{name: "conflicting wildcard names", prior: []Spec{{Path: "/f/*path"}}, spec: Spec{Path: "/f/*rest"}, is: ErrRouteConflict, text: `"*path"`},
		{name: "duplicate route", prior: []Spec{{Path: "/a", Value: 1}}, spec: Spec{Path: "/a", Value: 2}, is: ErrDuplicateRoute, text: `as route "/a"`},
		{name: "duplicate with overlapping methods", prior: []Spec{{Path: "/a", Methods: []string{"GET", "POST"}}}, spec: Spec{Path: "/a", Methods: []string{"POST"}}, is: ErrDuplicateRoute},
		{name: "any-method overlaps every method", prior: []Spec{{Path: "/a", Methods: []string{"GET"}}}, spec: Spec{Path: "/a"}, is: ErrDuplicateRoute},
		{name: "same headers in other case duplicate", prior: []Spec{{Path: "/a", Headers: map[string]string{"X-V": "1"}}}, spec: Spec{Path: "/a", Headers: map[string]string{"x-v": "1"}}, is: ErrDuplicateRoute},
		{name: "same host in other case duplicate", prior: []Spec{{Host: "A.com", Path: "/a"}}, spec: Spec{Host: "a.com.", Path: "/a"}, is: ErrDuplicateRoute},
		{name: "lower-case method", spec: Spec{Path: "/a", Methods: []string{"get"}}, is: ErrInvalidRoute, text: "upper-case"},
		{name: "bad method token", spec: Spec{Path: "/a", Methods: []string{"GE T"}}, is: ErrInvalidRoute, text: "invalid character"},
		{name: "empty method", spec: Spec{Path: "/a", Methods: []string{""}}, is: ErrInvalidRoute, text: "empty name"},
		{name: "bad header name", spec: Spec{Path: "/a", Headers: map[string]string{"X V": "1"}}, is: ErrInvalidRoute, text: "header name"},
		{name: "header given twice", spec: Spec{Path: "/a", Headers: map[string]string{"X-V": "1", "x-v": "2"}}, is: ErrInvalidRoute, text: "given twice"},
		{name: "host with port", spec: Spec{Host: "a.com:8080", Path: "/a"}, is: ErrInvalidRoute, text: "port"},
		{name: "star inside host", spec: Spec{Host: "a.*.com", Path: "/a"}, is: ErrInvalidRoute, text: "'*'"},
		{name: "bare wildcard host", spec: Spec{Host: "*.", Path: "/a"}, is: ErrInvalidRoute},
		{name: "empty host label", spec: Spec{Host: "a..com", Path: "/a"}, is: ErrInvalidRoute, text: "empty label"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := build(t, c.prior)
			err := r.Add(c.spec)
			if !errors.Is(err, c.is) || !strings.Contains(fmt.Sprint(err), c.text) {
				t.Fatalf("Add(%+v) = %v; want %v containing %q", c.spec, err, c.is, c.text)
			}
		})
	}
}

// These pairs look alike but are distinct routes, so Add must accept them.
func TestAddAccepts(t *testing.T) {
	build(t, []Spec{
		{Path: "/a", Methods: []string{"GET"}},
		{Path: "/a", Methods: []string{"HEAD"}},                                      // explicit HEAD next to implied HEAD
		{Path: "/a", Methods: []string{"GET"}, Headers: map[string]string{"X": "1"}}, // same methods, other headers
		{Host: "a.com", Path: "/a", Methods: []string{"GET"}},                        // same path, other host
		{Host: "b.com", Path: "/p/:name"},                                            // other host, other param name
		{Path: "/p/:id"},
		{Path: "/p/*rest"}, // param and wildcard at the same position
		{Path: "/p/:id/x"},
	})
}

// Allow values beyond the precomputed table come from the cache.
func TestAllowManyMethods(t *testing.T) {
	r := New()
	var ms []string
	for i := 0; i < 14; i++ {
		ms = append(ms, fmt.Sprintf("M%02d", i))
	}
	if err := r.Add(Spec{Path: "/x", Methods: ms}); err != nil {
		t.Fatal(err)
	}
	var ps Params
	for i := 0; i < 2; i++ {
		_, res, allow := r.Match(nil, []byte("GET"), []byte("/x"), nil, &ps)
		if res != MethodNotAllowed || string(allow) != strings.Join(ms, ", ") {
			t.Fatalf("got %v %q", res, allow)
		}
	}
}

func TestParams(t *testing.T) {
	r := build(t, []Spec{{Path: "/a/:x/*rest", Value: 1}})
	var ps Params
	path := []byte("/a/1/2/3")
	if _, res, _ := r.Match(nil, []byte("GET"), path, nil, &ps); res != Found {
		t.Fatal(res)
	}
	if ps.Len() != 2 || string(ps.Get("x")) != "1" || string(ps.Get("rest")) != "2/3" || ps.Get("nope") != nil {
		t.Fatalf("params %q", fmtParams(&ps))
	}
	if k, v := ps.At(1); k != "rest" || &v[0] != &path[5] {
		t.Fatal("At(1) is not a view into path")
	}
	ps.Reset()
	if ps.Len() != 0 || ps.Get("x") != nil {
		t.Fatal("Reset left params")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("At out of range did not panic")
		}
	}()
	ps.At(0)
}

// Concurrent Match on a shared Router, under -race.
func TestConcurrentMatch(t *testing.T) {
	r := build(t, []Spec{{Path: "/u/:id", Value: 1}, {Host: "*.x.com", Path: "/u/:id", Value: 2}})
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			var ps Params
			ok := true
			for i := 0; i < 1000; i++ {
				v, _, _ := r.Match([]byte("a.x.com"), []byte("GET"), []byte("/u/7"), nil, &ps)
				ok = ok && v == 2 && string(ps.Get("id")) == "7"
			}
			done <- ok
		}()
	}
	for g := 0; g < 8; g++ {
		if !<-done {
			t.Fatal("wrong match under concurrency")
		}
	}
}

func TestResultString(t *testing.T) {
	if Found.String() != "Found" || MethodNotAllowed.String() != "MethodNotAllowed" || Result(9).String() != "Result(9)" {
		t.Fatal("Result.String")
	}
}
