package router

import (
	"bytes"
	"errors"
	"testing"
)

var (
	decode = Policy{EscapedSlashes: EscapedSlashesDecode}
	keep   = Policy{EscapedSlashes: EscapedSlashesKeep, PathParams: PathParamsKeep}
	strip  = Policy{PathParams: PathParamsStrip}
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		name string // what the case pins
		p    Policy // zero: the defaults
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
		{name: "one-letter segment is not a dot", in: "/a/b", want: "/a/b"},
		{name: "escape above root", in: "/../x", err: ErrPathEscapes},
		{name: "escape after climbing", in: "/a/../../x", err: ErrPathEscapes},
		{name: "bare dot-dot", in: "/..", err: ErrPathEscapes},
		{name: "encoded dot-dot", in: "/a/b/%2e%2e/c", want: "/a/c"},
		{name: "mixed-case encoded dot-dot", in: "/a/b/.%2E/c", want: "/a/c"},
		{name: "encoded dot-dot escaping", in: "/%2e%2e/etc/passwd", err: ErrPathEscapes},
		{name: "unreserved tilde decoded", in: "/%7euser", want: "/~user"},
		{name: "unreserved letters and digits decoded", in: "/%41%62%30%2D%5F", want: "/Ab0-_"},
		{name: "reserved kept, hex upper-cased", in: "/a%3fb%20c", want: "/a%3Fb%20c"},
		{name: "encoded ';' stays data", in: "/a%3bb", want: "/a%3Bb"},
		{name: "double slashes merged", in: "//a///b//", want: "/a/b/"},
		{name: "trailing slash kept", in: "/a/b/", want: "/a/b/"},
		{name: "only slashes", in: "///", want: "/"},
		{name: "dots inside names are not segments", in: "/a/.b/..c/...", want: "/a/.b/..c/..."},
		{name: "malformed percent", in: "/a%zz", err: ErrBadEncoding},
		{name: "half-malformed percent", in: "/a%2z", err: ErrBadEncoding},
		{name: "trailing percent", in: "/a%", err: ErrBadEncoding},
		{name: "truncated percent", in: "/a%2", err: ErrBadEncoding},
		{name: "truncated percent after a segment", in: "/a/%4", err: ErrBadEncoding},
		{name: "relative", in: "a/b", err: ErrBadPath},
		{name: "empty", in: "", err: ErrBadPath},
		{name: "raw space (never from the parser)", in: "/a b", err: ErrBadPath},
		{name: "raw non-ASCII (never from the parser)", in: "/caf\xc3\xa9", err: ErrBadPath},
		{name: "params syntax passes through", in: "/users/:id/*rest", want: "/users/:id/*rest"},

		// Encoded and backslash separators (issue 12: /api/admin%2Fstats).
		{name: "encoded slash rejected", in: "/api/admin%2Fstats", err: ErrEscapedSlash},
		{name: "lower-case encoded slash rejected", in: "/api/admin%2fstats", err: ErrEscapedSlash},
		{name: "encoded slash hiding a dot-dot rejected", in: "/api/public/..%2fsecret/x", err: ErrEscapedSlash},
		{name: "encoded backslash rejected", in: "/api/admin%5Cstats", err: ErrEscapedSlash},
		{name: "raw backslash rejected", in: `/api/admin\stats`, err: ErrEscapedSlash},
		{name: "decode: encoded slash separates", p: decode, in: "/api/admin%2Fstats", want: "/api/admin/stats"},
		{name: "decode: encoded dot-dot-slash climbs", p: decode, in: "/api/public/..%2fsecret/x", want: "/api/secret/x"},
		{name: "decode: backslashes separate", p: decode, in: `/a\b%5cc%5C`, want: "/a/b/c/"},
		{name: "decode: climbing above the root still refused", p: decode, in: "/a%2F..%2F..%2Fetc", err: ErrPathEscapes},
		{name: "decode: encoded slashes merge", p: decode, in: "/a%2F%2Fb", want: "/a/b"},
		{name: "keep: encoded slash opaque, upper-cased", p: keep, in: "/a%2fb", want: "/a%2Fb"},
		{name: "keep: encoded slash is no separator for dot-dot", p: keep, in: "/a/..%2f..%2fb", want: "/a/..%2F..%2Fb"},
		{name: "keep: raw backslash kept", p: keep, in: `/a\b`, want: `/a\b`},

		// Path parameters (issue 12: /api/secret;x/y, /w/..;/adm/x).
		{name: "parameter rejected", in: "/api/secret;x/y", err: ErrPathParam},
		{name: "dot-dot parameter rejected", in: "/w/..;/adm/x", err: ErrPathParam},
		{name: "strip: parameter removed", p: strip, in: "/api/secret;x/y", want: "/api/secret/y"},
		{name: "strip: dot-dot parameter climbs as in Tomcat", p: strip, in: "/w/..;/adm/x", want: "/adm/x"},
		{name: "strip: parameter at the end", p: strip, in: "/a/b;jsessionid=1", want: "/a/b"},
		{name: "strip: parameter-only segment merges", p: strip, in: "/a/;x/b", want: "/a/b"},
		{name: "strip: parameter holds an encoded slash, dropped with it", p: strip, in: "/a;x%2F../b", want: "/a/b"},
		{name: "strip: climbing above the root refused", p: strip, in: "/..;x/etc", err: ErrPathEscapes},
		{name: "keep: parameter is data", p: keep, in: "/api/secret;x/y", want: "/api/secret;x/y"},
		{name: "keep: dot-dot with parameter refused", p: keep, in: "/w/..;/adm/x", err: ErrPathParam},
		{name: "keep: dot with parameter refused", p: keep, in: "/w/.;a/x", err: ErrPathParam},
		{name: "keep: dots then parameter in a name are data", p: keep, in: "/w/...;a", want: "/w/...;a"},

		// Encoded bytes that no path needs.
		{name: "encoded NUL", in: "/a%00.txt", err: ErrControl},
		{name: "encoded CR LF", in: "/a%0d%0aSet-Cookie:x", err: ErrControl},
		{name: "encoded DEL", in: "/a%7f", err: ErrControl},
		{name: "non-ASCII kept encoded", in: "/%c3%a9", want: "/%C3%A9"},
		{name: "four-byte UTF-8 kept", in: "/%F0%9F%98%80", want: "/%F0%9F%98%80"},
		{name: "U+FFFD itself is valid", in: "/%EF%BF%BD", want: "/%EF%BF%BD"},
		{name: "overlong dot-dot", in: "/%c0%ae%c0%ae/etc", err: ErrBadUTF8},
		{name: "overlong slash", in: "/a%c0%afb", err: ErrBadUTF8},
		{name: "three-byte overlong dot", in: "/%e0%80%ae", err: ErrBadUTF8},
		{name: "lone continuation byte", in: "/%80", err: ErrBadUTF8},
		{name: "truncated sequence", in: "/%c3", err: ErrBadUTF8},
		{name: "sequence cut by a raw byte", in: "/%c3a", err: ErrBadUTF8},
		{name: "surrogate", in: "/%ed%a0%80", err: ErrBadUTF8},
		{name: "past U+10FFFF", in: "/%f4%90%80%80", err: ErrBadUTF8},
		{name: "malformed hex inside a sequence", in: "/%c3%zz", err: ErrBadEncoding},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.p.Normalize(nil, []byte(c.in))
			if err != c.err || err == nil && string(got) != c.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
			}
			if err != nil {
				if len(got) != 0 {
					t.Fatalf("error with output %q", got)
				}
				if err != ErrPathEscapes && !errors.Is(err, ErrBadPath) {
					t.Fatalf("%v is not an ErrBadPath", err)
				}
				return
			}
			// In place: dst aliasing path gives the same answer.
			buf := []byte(c.in)
			inPlace, err := c.p.Normalize(buf[:0], buf)
			if err != nil || string(inPlace) != c.want {
				t.Fatalf("in place: %q, %v", inPlace, err)
			}
		})
	}
}

// A dst with enough capacity is reused: no allocation, under every policy.
func TestNormalizeNoAlloc(t *testing.T) {
	dst := make([]byte, 0, 64)
	for _, c := range []struct {
		p        Policy
		in, want string
	}{
		{Policy{}, "/api//products/./%7e/../%c3%a9admin/", "/api/products/%C3%A9admin/"},
		{decode, "/api//products/./%7e/..%2fadmin/", "/api/products/admin/"},
		{strip, "/api/products;v=1/..;/admin/", "/api/admin/"},
	} {
		in := []byte(c.in)
		allocs := testing.AllocsPerRun(100, func() {
			out, _ := c.p.Normalize(dst, in)
			if !bytes.Equal(out, []byte(c.want)) {
				panic(string(out))
			}
		})
		if allocs != 0 {
			t.Fatalf("%+v: %v allocs", c.p, allocs)
		}
	}
}
