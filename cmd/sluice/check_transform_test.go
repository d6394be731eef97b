package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckTransformErrors: `sluice -check` reports each problem of a
// transform instance at its file:line:column, all in one pass, and exits 1.
func TestCheckTransformErrors(t *testing.T) {
	bad := writeFile(t, `listen: 127.0.0.1:18999
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
middleware:
  shape:
    type: transform
    request:
      set_headers: {X-Tenant: "{claim.tenant}"}
      remove_headers: [Transfer-Encoding]
      replace_prefix: {from: /api/v1/, to: /v1}
      rewrite: {regex: "^/users/(\\d+$", to: /profiles/$1}
      host: "internal example"
    response:
      remove_headers: [Content-Length]
routes:
  - {name: r, match: {path: /x}, cluster: a, middleware: [shape]}
`)
	var out bytes.Buffer
	if code := run([]string{"-check", "-config", bad}, &out); code != 1 {
		t.Fatalf("exit %d, want 1; output:\n%s", code, out.String())
	}
	for _, w := range []string{
		bad + ":8:31: middleware.shape.request.set_headers.X-Tenant: {claim.tenant} at byte 0: unknown placeholder",
		bad + `:9:23: middleware.shape.request.remove_headers: "Transfer-Encoding": a hop-by-hop header`,
		bad + `:10:30: middleware.shape.request.replace_prefix.from: "/api/v1/" must not end with '/'`,
		bad + ":11:24: middleware.shape.request.rewrite.regex: regex: error parsing regexp: missing closing )",
		bad + `:12:13: middleware.shape.request.host: "internal example" is not a host[:port]`,
		bad + `:14:23: middleware.shape.response.remove_headers: "Content-Length": written by the gateway itself`,
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// TestCheckTransformRouteErrors: what a transform reads must exist on
// each route using it: claims need a jwt before it, and a {params.NAME}
// a parameter that match.path declares; otherwise the value would never
// be there, and -check says so.
func TestCheckTransformRouteErrors(t *testing.T) {
	cases := []struct{ middleware, routes, want string }{
		{`{type: transform, request: {set_headers: {X-Tenant: "{claims.tenant}"}}}`,
			`  - {name: r, match: {path: /x}, cluster: a, middleware: [shape]}`,
			`:7:5: routes[0] "r": middleware "shape" checks claims, so a jwt middleware must come before it`},
		{`{type: transform, request: {add_headers: {X-Id: "{params.id}", X-Rest: "{params.*}"}}}`,
			"  - {name: ok, match: {path: \"/users/:id/*\"}, cluster: a, middleware: [shape]}\n" +
				`  - {name: typo, match: {path: "/orders/:oid/*"}, cluster: a, middleware: [shape]}`,
			`:8:5: routes[1] "typo": middleware "shape" reads the path parameter "id", which match.path "/orders/:oid/*" does not declare`},
	}
	for _, tc := range cases {
		bad := writeFile(t, `listen: 127.0.0.1:18999
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
middleware:
  shape: `+tc.middleware+`
routes:
`+tc.routes+"\n")
		var out bytes.Buffer
		if code := run([]string{"-check", "-config", bad}, &out); code != 1 || !strings.Contains(out.String(), bad+tc.want) {
			t.Errorf("exit %d, want 1 and %q; output:\n%s", code, bad+tc.want, out.String())
		}
	}
}
