package router

import (
	"bytes"
	"testing"
	"unsafe"
)

// FuzzNormalize checks Normalize's output invariants under each Policy
// (picked by the fuzzer): it never panics, and a successful result starts
// with '/', is no longer than the input, has no empty, "." or ".." segment
// except a trailing empty one, holds no encoded control byte and no encoded
// '/' or '\', raw '\' or ';' unless the policy keeps them, is idempotent,
// and is the same when computed in place. An output free of the kept forms
// is a fixed point of the default policy too, so any policy's output routes
// the same under the strictest reading.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"/", "/a/./b", "/a/../b", "/../x", "/%2e%2e/", "/a%2fb", "/%7e", "//a//", "/a/", "/a%zz", "/a%",
		"/api/products/../admin", "/.%2e/", "/a/b/..", "/%2E", "/a/%2e%2E%2f", "/api/admin%2Fstats",
		"/api/public/..%2fsecret/x", "/a%5cb", `/a\b`, "/api/secret;x/y", "/w/..;/adm/x", "/%c0%ae%c0%ae/",
		"/a%00", "/%e2%82%ac", "/a/%4",
	} {
		for p := range byte(9) {
			f.Add(p, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, pick byte, in []byte) {
		p := Policy{EscapedSlashes: EscapedSlashes(pick % 3), PathParams: PathParams(pick / 3 % 3)}
		out, err := p.Normalize(nil, in)
		if err != nil {
			if len(out) != 0 {
				t.Fatalf("error %v with output %q", err, out)
			}
			return
		}
		if len(out) == 0 || out[0] != '/' {
			t.Fatalf("%q -> %q: no leading '/'", in, out)
		}
		if len(out) > len(in) {
			t.Fatalf("%q -> %q: output longer than input", in, out)
		}
		if bytes.Contains(out, []byte("//")) {
			t.Fatalf("%q -> %q: contains //", in, out)
		}
		for _, seg := range bytes.Split(out[1:], []byte("/")) {
			name := seg
			if i := bytes.IndexByte(seg, ';'); i >= 0 {
				name = seg[:i]
			}
			if string(name) == "." || string(name) == ".." {
				t.Fatalf("%q -> %q: dot segment", in, out)
			}
		}
		upper := bytes.ToUpper(out)
		for _, bad := range []string{"%00", "%0A", "%0D", "%7F", "%C0", "%C1", "%2E"} {
			if bytes.Contains(upper, []byte(bad)) {
				t.Fatalf("%q -> %q: holds %s", in, out, bad)
			}
		}
		slashy := bytes.Contains(upper, []byte("%2F")) || bytes.Contains(upper, []byte("%5C")) || bytes.IndexByte(out, '\\') >= 0
		if slashy && p.EscapedSlashes != EscapedSlashesKeep {
			t.Fatalf("%q -> %q under %+v: an escaped or back slash survived", in, out, p)
		}
		if bytes.IndexByte(out, ';') >= 0 && p.PathParams != PathParamsKeep {
			t.Fatalf("%q -> %q under %+v: a ';' survived", in, out, p)
		}
		again, err := p.Normalize(nil, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		if !slashy && bytes.IndexByte(out, ';') < 0 {
			if strict, err := Normalize(nil, out); err != nil || !bytes.Equal(strict, out) {
				t.Fatalf("%q -> %q under %+v is %q, %v under the defaults", in, out, p, strict, err)
			}
		}
		buf := append([]byte(nil), in...)
		inPlace, err := p.Normalize(buf[:0], buf)
		if err != nil || !bytes.Equal(inPlace, out) {
			t.Fatalf("in place: %q -> %q, %v; want %q", in, inPlace, err, out)
		}
	})
}

// fuzzRouter is a fixed router mixing every pattern kind, hosts, methods and
// header conditions.
func fuzzRouter(t testing.TB) *Router {
	return build(t, fuzzSpecs)
}

// fuzzSpecs are fuzzRouter's routes; Value is the index. None opts in to
// method fall-through.
var fuzzSpecs = []Spec{
	{Path: "/", Value: 0},
	{Path: "/users", Methods: []string{"GET", "POST"}, Value: 1},
	{Path: "/users/new", Value: 2},
	{Path: "/users/:id", Methods: []string{"GET"}, Value: 3},
	{Path: "/users/:id/posts/:post", Value: 4},
	{Path: "/users/*rest", Methods: []string{"DELETE"}, Value: 5},
	{Path: "/files/*path", Value: 6},
	{Path: "/api/*", Headers: map[string]string{"X-V": "2"}, Value: 7},
	{Path: "/:a/:b/:c", Value: 8},
	{Host: "*.example.com", Path: "/users/:id", Value: 9},
	{Host: "api.example.com", Path: "/a/b/c/:d/*e", Methods: []string{"PUT"}, Value: 10},
}

// FuzzMatch runs arbitrary hosts, methods and paths against fuzzRouter: no
// panic, a consistent result, parameter values that are sub-slices of the
// path passed in, and no method fall-through: the method never changes
// which pattern serves a host, path and headers (two methods may only reach
// two routes of one pattern), since no route opts in.
func FuzzMatch(f *testing.F) {
	r := fuzzRouter(f)
	for _, s := range []string{"/", "/users", "/users/1", "/users/1/posts/2", "/users/1/x", "/files/", "/api/x", "/a/b/c", "/a/b/c/d/e/f", "//", "/users/", "/files", "/api"} {
		f.Add("api.example.com:80", "GET", []byte(s), "2")
		f.Add("x.example.com", "DELETE", []byte(s), "")
	}
	f.Fuzz(func(t *testing.T, host, method string, path []byte, hv string) {
		var ps Params
		v, res, allow := r.Match([]byte(host), []byte(method), path, hdrs{"X-V": hv}, &ps)
		for _, other := range []string{"GET", "DELETE", "BREW"} {
			var ps2 Params
			w, res2, _ := r.Match([]byte(host), []byte(other), path, hdrs{"X-V": hv}, &ps2)
			if res == Found && res2 == Found && (fuzzSpecs[v].Path != fuzzSpecs[w].Path || fuzzSpecs[v].Host != fuzzSpecs[w].Host) {
				t.Fatalf("%s %q -> %q but %s -> %q: the method chose the pattern", method, path, fuzzSpecs[v].Path, other, fuzzSpecs[w].Path)
			}
		}
		switch res {
		case Found:
			if v < 0 || v > 10 || allow != nil {
				t.Fatalf("Found with value %d allow %q", v, allow)
			}
		case NotFound:
			if v != -1 || allow != nil || ps.Len() != 0 {
				t.Fatalf("NotFound with value %d allow %q params %d", v, allow, ps.Len())
			}
			return
		case MethodNotAllowed:
			if v != -1 || len(allow) == 0 || ps.Len() != 0 {
				t.Fatalf("405 with value %d allow %q params %d", v, allow, ps.Len())
			}
			return
		default:
			t.Fatalf("result %v", res)
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(path)))
		end := start + uintptr(len(path))
		for i := 0; i < ps.Len(); i++ {
			k, val := ps.At(i)
			if k == "" {
				t.Fatalf("empty param name")
			}
			if len(val) == 0 {
				continue
			}
			p := uintptr(unsafe.Pointer(unsafe.SliceData(val)))
			if p < start || p+uintptr(len(val)) > end {
				t.Fatalf("param %s=%q is not a sub-slice of the path", k, val)
			}
			if k != "*" && k != "rest" && k != "path" && k != "e" && bytes.IndexByte(val, '/') >= 0 {
				t.Fatalf("param %s=%q crosses a segment", k, val)
			}
		}
	})
}
