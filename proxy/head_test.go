package proxy

import (
	"strings"
	"testing"
)

// rigConfig is the config of the policy tests: two targets (so a retry can
// move), a route that strips a prefix and one that keeps the Host, and
// 10.0.0.0/8 as the trusted proxies.
const rigConfig = `listen: "127.0.0.1:1"
admin: ""
trusted_proxies: [10.0.0.0/8]
timeouts: {client_header: 2s, client_idle: 5s}
limits: {max_body_bytes: 1KiB}
clusters:
  up:
    targets:
      - url: http://192.0.2.1:8080
      - url: http://192.0.2.2:8080
    balancer: round_robin
    timeouts: {connect: 500ms, response: 1s}
    retries: {attempts: 2, on: [connect_failure, 502]}
routes:
  - name: api
    match: {path: /api/*}
    cluster: up
    strip_prefix: /api
  - name: keep
    match: {path: /keep/*, methods: [GET]}
    cluster: up
    preserve_host: true
`

// TestUpstreamHead feeds a request head from a client and compares the
// exact head the upstream gets: the path after strip_prefix, the target's
// Host (or the client's, with preserve_host), hop-by-hop and
// Connection-named headers, identity and override headers dropped, the
// forwarding headers written as the peer's trust allows, Via appended, our
// own framing.
func TestUpstreamHead(t *testing.T) {
	cases := []struct {
		name, peer, req, want string
	}{
		{
			name: "untrusted peer: forged headers replaced, hop-by-hop dropped",
			peer: "203.0.113.9",
			req: "GET /api/users/7?x=1 HTTP/1.1\r\nHost: gw.test\r\nConnection: keep-alive, X-Hop\r\nX-Hop: a\r\n" +
				"Keep-Alive: timeout=5\r\nX-User-Id: 42\r\nX_Consumer_Name: eve\r\nX-Original-URL: /admin\r\n" +
				"X-HTTP-Method-Override: DELETE\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n" +
				"Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nVia: 1.0 edge\r\nAccept: */*\r\n\r\n",
			want: "GET /users/7?x=1 HTTP/1.1\r\nHost: 192.0.2.1:8080\r\nAccept: */*\r\n" +
				"X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: gw.test\r\n" +
				"Forwarded: for=203.0.113.9;proto=http;host=gw.test\r\nX-Real-IP: 203.0.113.9\r\n" +
				"Via: 1.0 edge, 1.1 sluice\r\nX-Request-ID: ID\r\n\r\n",
		},
		{
			name: "trusted peer: its lists kept and our hop appended",
			peer: "10.1.1.1",
			req: "GET /api/a HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 6.6.6.6, 198.51.100.7\r\n" +
				"X-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.test\r\nForwarded: for=198.51.100.7\r\n\r\n",
			want: "GET /a HTTP/1.1\r\nHost: 192.0.2.1:8080\r\n" +
				"X-Forwarded-For: 6.6.6.6, 198.51.100.7, 10.1.1.1\r\nX-Forwarded-Proto: https\r\n" +
				"X-Forwarded-Host: shop.test\r\nForwarded: for=198.51.100.7, for=10.1.1.1;proto=http;host=gw.test\r\n" +
				"X-Real-IP: 198.51.100.7\r\nVia: 1.1 sluice\r\nX-Request-ID: ID\r\n\r\n",
		},
		{
			name: "preserve_host keeps the client's Host; IPv6 peer quoted in Forwarded",
			peer: "2001:db8::1",
			req:  "GET /keep/x HTTP/1.1\r\nHost: shop.test\r\n\r\n",
			want: "GET /keep/x HTTP/1.1\r\nHost: shop.test\r\nX-Forwarded-For: 2001:db8::1\r\n" +
				"X-Forwarded-Proto: http\r\nX-Forwarded-Host: shop.test\r\n" +
				"Forwarded: for=\"[2001:db8::1]\";proto=http;host=shop.test\r\nX-Real-IP: 2001:db8::1\r\n" +
				"Via: 1.1 sluice\r\nX-Request-ID: ID\r\n\r\n",
		},
		{
			name: "body: one Content-Length of ours; HTTP/1.0 Expect dropped",
			peer: "203.0.113.9",
			req:  "POST /api/p HTTP/1.0\r\nHost: gw.test\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi",
			want: "POST /p HTTP/1.1\r\nHost: 192.0.2.1:8080\r\nX-Forwarded-For: 203.0.113.9\r\n" +
				"X-Forwarded-Proto: http\r\nX-Forwarded-Host: gw.test\r\n" +
				"Forwarded: for=203.0.113.9;proto=http;host=gw.test\r\nX-Real-IP: 203.0.113.9\r\n" +
				"Via: 1.0 sluice\r\nX-Request-ID: ID\r\nContent-Length: 2\r\n\r\nhi",
		},
		{
			name: "chunked body re-framed with our size lines, Content-Length dropped",
			peer: "203.0.113.9",
			req:  "PUT /api/c HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nhi\r\n0\r\n\r\n",
			want: "PUT /c HTTP/1.1\r\nHost: 192.0.2.1:8080\r\nX-Forwarded-For: 203.0.113.9\r\n" +
				"X-Forwarded-Proto: http\r\nX-Forwarded-Host: gw.test\r\n" +
				"Forwarded: for=203.0.113.9;proto=http;host=gw.test\r\nX-Real-IP: 203.0.113.9\r\n" +
				"Via: 1.1 sluice\r\nX-Request-ID: ID\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigConfig)
			cl := r.client(tc.peer)
			cl.send(tc.req)
			up := r.dial()
			if got := stable(up.c.takeOut()); got != tc.want {
				t.Errorf("upstream head:\n%s\nwant:\n%s", lines(got), lines(tc.want))
			}
		})
	}
}

// TestClientHead relays an upstream response and compares the head the
// client gets: hop-by-hop and Connection-named headers dropped, Via
// appended, the request ID, our framing (re-chunked for HTTP/1.1,
// de-chunked and closed for HTTP/1.0).
func TestClientHead(t *testing.T) {
	cases := []struct {
		name, req, resp, want string
		keepAlive             bool
	}{
		{
			name: "length-framed, hop-by-hop dropped",
			req:  "GET /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n",
			resp: "HTTP/1.1 200 OK\r\nConnection: X-Up\r\nX-Up: 1\r\nKeep-Alive: timeout=5\r\nVia: 1.1 app\r\n" +
				"X-Request-ID: forged\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
			want:      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nVia: 1.1 app, 1.1 sluice\r\nX-Request-ID: ID\r\nContent-Length: 2\r\n\r\nok",
			keepAlive: true,
		},
		{
			name:      "chunked re-chunked for HTTP/1.1",
			req:       "GET /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n",
			resp:      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n",
			want:      "HTTP/1.1 200 OK\r\nVia: 1.1 sluice\r\nX-Request-ID: ID\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			keepAlive: true,
		},
		{
			name: "chunked de-chunked for HTTP/1.0, which then closes",
			req:  "GET /api/a HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\n\r\n",
			resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			want: "HTTP/1.1 200 OK\r\nVia: 1.1 sluice\r\nX-Request-ID: ID\r\nConnection: close\r\n\r\nok",
		},
		{
			name:      "204 gets no Content-Length",
			req:       "DELETE /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n",
			resp:      "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
			want:      "HTTP/1.1 204 No Content\r\nVia: 1.1 sluice\r\nX-Request-ID: ID\r\n\r\n",
			keepAlive: true,
		},
		{
			name:      "interim 103 relayed less hop-by-hop, then the final head",
			req:       "GET /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n",
			resp:      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\nConnection: close\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
			want:      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nVia: 1.1 sluice\r\nX-Request-ID: ID\r\nContent-Length: 0\r\n\r\n",
			keepAlive: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigConfig)
			cl := r.client("203.0.113.9")
			cl.send(tc.req)
			up := r.dial()
			up.reply(tc.resp)
			if got := stable(cl.c.takeOut()); got != tc.want {
				t.Errorf("client got:\n%s\nwant:\n%s", lines(got), lines(tc.want))
			}
			if closing := cl.s.shut || cl.s.closed; closing == tc.keepAlive {
				t.Errorf("connection closing %v, want keep-alive %v", closing, tc.keepAlive)
			}
			if !strings.HasPrefix(tc.name, "chunked de-chunked") && up.s.closed {
				t.Error("a cleanly ended upstream connection was closed, not pooled")
			}
		})
	}
}
