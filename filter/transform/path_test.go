package transform

import (
	"strings"
	"testing"
)

func TestReplacePrefix(t *testing.T) {
	cases := []struct{ from, to, path, want string }{
		{"/api/v1", "/v1", "/api/v1/users", "/v1/users"},
		{"/api/v1", "/v1", "/api/v1", "/v1"},
		{"/api/v1", "/v1", "/api/v1/", "/v1/"},
		{"/api/v1", "/v1", "/api/v10/users", "-"}, // whole segments only
		{"/api/v1", "/v1", "/api/v", "-"},
		{"/api/v1", "/v1", "/other", "-"},
		{"/api/v1", "/", "/api/v1/users", "/users"},
		{"/api/v1", "/", "/api/v1", "/"},
		{"/", "/internal", "/users/7", "/internal/users/7"},
		{"/", "/internal", "/", "/internal/"},
		{"/a", "/b/c", "/a/x%2Fy", "/b/c/x%2Fy"}, // escapes kept as they are
	}
	for _, tc := range cases {
		p := newPrefixRewrite(tc.from, tc.to)
		got, ok := p.apply([]byte("junk")[:0], []byte(tc.path))
		if tc.want == "-" {
			if ok {
				t.Errorf("%s -> %s on %s: %q, want no match", tc.from, tc.to, tc.path, got)
			}
		} else if !ok || string(got) != tc.want {
			t.Errorf("%s -> %s on %s: %q, %v; want %q", tc.from, tc.to, tc.path, got, ok, tc.want)
		}
	}
}

func TestRegexRewrite(t *testing.T) {
	cases := []struct{ re, to, path, want string }{
		{`^/users/(\d+)/profile$`, "/profiles/$1", "/users/42/profile", "/profiles/42"},
		{`^/users/(\d+)/profile$`, "/profiles/$1", "/users/x/profile", "-"},
		{`^/users/(?P<id>\d+)/(\w+)$`, "/$2/${id}", "/users/7/posts", "/posts/7"},
		{`/v1/`, "/v2/", "/api/v1/x", "/api/v2/x"}, // the first match only; the rest stays
		{`^/old`, "/new$$", "/old/a", "/new$/a"},
		{`^/a(x)?/b$`, "/c$1", "/a/b", "/c"}, // an unmatched group is empty
		{`^/(.*)$`, "$1", "/abc", "abc"},     // compiles; validPath refuses it at run time
	}
	for _, tc := range cases {
		r, _, err := compileRewrite(tc.re, tc.to)
		if err != nil {
			t.Fatalf("%s: %v", tc.re, err)
		}
		got, ok := r.apply(nil, []byte(tc.path))
		if tc.want == "-" {
			if ok {
				t.Errorf("%s on %s: %q, want no match", tc.re, tc.path, got)
			}
		} else if !ok || string(got) != tc.want {
			t.Errorf("%s on %s: %q, %v; want %q", tc.re, tc.path, got, ok, tc.want)
		}
	}
	for _, tc := range []struct{ re, to, want string }{
		{`^/(a`, "/x", "regex: error parsing regexp: missing closing )"},
		{`^/(a)$`, "/$2", "at byte 1: $2, but the regex has 1 groups"},
		{`^/(a)$`, "/${name}", `the regex has no group named "name"`},
		{`^/(a)$`, "/$", "'$' must be followed by a group"},
		{`^/(a)$`, "/${}", "an empty or unclosed ${...}"},
		{`^/(a)$`, "/x y", `' ' is not allowed in a path`},
		{`^/(a)$`, "/x?y=1", `'?' is not allowed in a path`},
	} {
		if _, _, err := compileRewrite(tc.re, tc.to); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s -> %s: got %v, want …%s…", tc.re, tc.to, err, tc.want)
		}
	}
}

func TestValidPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/":            true,
		"/a/b%2F;c=d":  true,
		"/a:b@c!$&'()": true,
		"/.well-known": true,
		"/a/..b":       true,
		"":             false,
		"a/b":          false,
		"/a b":         false,
		"/a\r\nX: 1":   false,
		"/a?b":         false,
		"/a#b":         false,
		"/a%2":         false,
		"/a%zz":        false,
		"/a/../b":      false,
		"/a/.":         false,
		"/é":           false,
	} {
		if got := validPath([]byte(p)); got != want {
			t.Errorf("validPath(%q) = %v, want %v", p, got, want)
		}
	}
}
