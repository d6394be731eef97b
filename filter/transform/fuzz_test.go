package transform

import (
	"bytes"
	"testing"

	"github.com/sluicehq/sluice/filter"
)

// FuzzRenderedValuesStayInTheirField: whatever a claim holds, a rendered
// query value is unreserved bytes and %XX escapes only, and a header line
// never carries a control byte that could split the head.
func FuzzRenderedValuesStayInTheirField(f *testing.F) {
	for _, s := range []string{"acme", "a\r\nX-Admin: true", "a b&c=d#e", "\x00\x7f\xff", "%zz", "é"} {
		f.Add(s)
	}
	flt := mustBuild(f, `{type: transform, request: {set_headers: {X-T: "t={claims.t}"}, set_query: {t: "{claims.t}"}}}`)
	r := newRequest(f, "/*", "GET /x?t=old HTTP/1.1\r\nHost: h\r\n\r\n", "")
	f.Fuzz(func(t *testing.T, claim string) {
		var x filter.Exchange
		r.start(&x, "")
		x.Claims = map[string]any{"t": claim}
		flt.Request(&x)
		lines := x.UpstreamHeaders()
		if len(lines) > 0 && (bytes.Count(lines, []byte("\r\n")) != 1 || bytes.ContainsAny(lines[:len(lines)-2], "\r\n\x00")) {
			t.Fatalf("claim %q: upstream lines %q", claim, lines)
		}
		q := x.ForwardQuery(r.req.Query)
		if !bytes.HasPrefix(q, []byte("t=")) {
			t.Fatalf("claim %q: query %q", claim, q)
		}
		for i := 2; i < len(q); i++ {
			switch c := q[i]; {
			case c == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2]):
				i += 2
			case !isUnreserved(c):
				t.Fatalf("claim %q: query %q has %q at %d", claim, q, c, i)
			}
		}
	})
}

// FuzzRegexRewriteResult: a rewrite either leaves the path alone, yields
// a valid origin-form path, or is refused with 500; it never panics.
func FuzzRegexRewriteResult(f *testing.F) {
	for _, p := range []string{"/users/1/profile", "/a/b", "/", "/users//x"} {
		f.Add(p)
	}
	flt := mustBuild(f, `{type: transform, request: {rewrite: {regex: "^/users/([^/]*)(.*)$", to: "/u/$1$2"}}}`)
	f.Fuzz(func(t *testing.T, path string) {
		if !validPath([]byte(path)) {
			return // the path policy would have refused it
		}
		var x filter.Exchange
		x.Reset(nil)
		x.Path = []byte(path)
		switch v := flt.Request(&x); {
		case v == filter.Respond && x.Status == 500:
		case v == filter.Continue && !validPath(x.UpstreamPath()):
			t.Fatalf("%q rewritten to %q", path, x.UpstreamPath())
		}
	})
}
