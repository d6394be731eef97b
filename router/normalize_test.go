package router

import (
	"bytes"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		name string // what the case pins
		in   string
		want string
		err  error
	}{
		{name: "root", in: "/", want: "/"},
		{name: "plain", in: "/a/b", want: "/a/b"},
		{name: "dot segment", in: "/a/./b", want: "/a/b"},
		{name: "dot-dot segment", in: "/a/../b", want: "/b"},
		{name: "traversal example", in: "/api/products/../admin", want: "/api/admin"},
		{name: "dot-dot to the root", in: "/a/..", want: "/"},
		{name: "trailing dot ends in slash", in: "/a/b/.", want: "/a/b/"},
		{name: "trailing dot-dot ends in slash", in: "/a/b/..", want: "/a/"},
		{name: "escape above root", in: "/../x", err: ErrPathEscapes},
		{name: "escape after climbing", in: "/a/../../x", err: ErrPathEscapes},
		{name: "bare dot-dot", in: "/..", err: ErrPathEscapes},
		{name: "encoded dot-dot", in: "/a/b/%2e%2e/c", want: "/a/c"},
		{name: "mixed-case encoded dot-dot", in: "/a/b/.%2E/c", want: "/a/c"},
		{name: "encoded dot-dot escaping", in: "/%2e%2e/etc/passwd", err: ErrPathEscapes},
		{name: "encoded slash stays encoded, upper-cased", in: "/a%2fb", want: "/a%2Fb"},
		{name: "encoded slash is not a separator for dot-dot", in: "/a/..%2f..%2fb", want: "/a/..%2F..%2Fb"},
		{name: "unreserved tilde decoded", in: "/%7euser", want: "/~user"},
		{name: "unreserved letters and digits decoded", in: "/%41%62%30%2D%5F", want: "/Ab0-_"},
		{name: "reserved kept, hex upper-cased", in: "/a%3fb%20c", want: "/a%3Fb%20c"},
		{name: "non-ASCII kept encoded", in: "/%c3%a9", want: "/%C3%A9"},
		{name: "double slashes merged", in: "//a///b//", want: "/a/b/"},
		{name: "trailing slash kept", in: "/a/b/", want: "/a/b/"},
		{name: "only slashes", in: "///", want: "/"},
		{name: "dots inside names are not segments", in: "/a/.b/..c/...", want: "/a/.b/..c/..."},
		{name: "malformed percent", in: "/a%zz", err: ErrBadPath},
		{name: "half-malformed percent", in: "/a%2z", err: ErrBadPath},
		{name: "trailing percent", in: "/a%", err: ErrBadPath},
		{name: "truncated percent", in: "/a%2", err: ErrBadPath},
		{name: "relative", in: "a/b", err: ErrBadPath},
		{name: "empty", in: "", err: ErrBadPath},
		{name: "params syntax passes through", in: "/users/:id/*rest", want: "/users/:id/*rest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Normalize(nil, []byte(c.in))
			if err != c.err || err == nil && string(got) != c.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
			}
			if err != nil {
				return
			}
			// In place: dst aliasing path gives the same answer.
			buf := []byte(c.in)
			inPlace, err := Normalize(buf[:0], buf)
			if err != nil || string(inPlace) != c.want {
				t.Fatalf("in place: %q, %v", inPlace, err)
			}
		})
	}
}

// A dst with enough capacity is reused: no allocation.
func TestNormalizeNoAlloc(t *testing.T) {
	dst := make([]byte, 0, 64)
	in := []byte("/api//products/./%7e/../%2fadmin/")
	allocs := testing.AllocsPerRun(100, func() {
		out, _ := Normalize(dst, in)
		if !bytes.Equal(out, []byte("/api/products/%2Fadmin/")) {
			panic(string(out))
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}
