package proxy

import (
	"strings"
	"testing"

	_ "github.com/sluicehq/sluice/filter/builtin" // type: transform
)

// transformRig is rigConfig with a transform on a route that also strips a
// prefix and keeps the client's Host.
var transformRig = strings.Replace(rigConfig, "routes:\n", `middleware:
  shape: {type: transform,
          request: {set_headers: {X-Id: "u-{params.id}"}, remove_headers: [Cookie], rename_headers: {X-Old: X-New},
                    set_query: {v: "2"}, remove_query: [debug], replace_prefix: {from: /users, to: /people}, host: internal.example}}
routes:
  - name: shaped
    match: {path: "/t/users/:id"}
    cluster: up
    strip_prefix: /t
    preserve_host: true
    middleware: [shape]
`, 1)

// TestTransformUpstreamHead: the exact head the upstream gets with a
// transform: the path strip_prefix left, then rewritten; the query edited
// in place; transform's Host over preserve_host; the header edits among
// the gateway's own headers.
func TestTransformUpstreamHead(t *testing.T) {
	r := newRig(t, transformRig)
	cl := r.client("203.0.113.9")
	cl.send("GET /t/users/7?debug=1&a=%2F HTTP/1.1\r\nHost: gw.test\r\nCookie: s=1\r\nX-Old: o\r\nX-Id: forged\r\nAccept: */*\r\n\r\n")
	up := r.dial()
	want := "GET /people/7?a=%2F&v=2 HTTP/1.1\r\nHost: internal.example\r\nAccept: */*\r\n" +
		"X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: gw.test\r\n" +
		"Forwarded: for=203.0.113.9;proto=http;host=gw.test\r\nX-Real-IP: 203.0.113.9\r\n" +
		"Via: 1.1 sluice\r\nX-Request-ID: ID\r\nX-New: o\r\nX-Id: u-7\r\n\r\n"
	if got := stable(up.c.takeOut()); got != want {
		t.Errorf("upstream head:\n%s\nwant:\n%s", lines(got), lines(want))
	}
}

// TestTransformHostOnRetry: a connect failure moves the request to the
// other target; the kept head is re-hosted for it unless transform set
// the Host, which every try then carries.
func TestTransformHostOnRetry(t *testing.T) {
	for _, tc := range []struct{ path, host string }{
		{"/t/users/7", "internal.example"}, // transform's
		{"/api/x", "192.0.2.2:8080"},       // the second target's
	} {
		r := newRig(t, transformRig)
		cl := r.client("203.0.113.9")
		cl.send("GET " + tc.path + " HTTP/1.1\r\nHost: gw.test\r\n\r\n")
		r.failDial()
		up := r.dial()
		if up.addr != "192.0.2.2:8080" {
			t.Fatalf("%s: retried to %s", tc.path, up.addr)
		}
		head := up.c.takeOut()
		if !strings.Contains(head, "\r\nHost: "+tc.host+"\r\n") {
			t.Errorf("%s: retried head has no Host %s:\n%s", tc.path, tc.host, lines(head))
		}
	}
}
