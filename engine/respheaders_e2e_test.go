package engine

import (
	"net/http"
	"testing"
)

// The shipped response_headers type on a route with a filter that answers
// preflights itself: its headers land on proxied responses and on local
// replies, and no body-less answer (HEAD, 204, 304) grows a body.
const secureConfig = `
middleware:
  secure: {type: response_headers, set: {X-Frame-Options: DENY}, add: {X-Served-By: sluice}, remove: [Server]}
  reply: {type: test_reply}
`

const secureRoutes = `  - name: edge
    match: {path: /e/*}
    cluster: up
    middleware: [secure, reply]
`

// headerfulHandler answers like a typical framework: Server and a weaker
// X-Frame-Options on every response, and 204/304 on those paths.
func headerfulHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "upstream/1.0")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		switch r.URL.Path {
		case "/e/204":
			w.WriteHeader(204)
		case "/e/304":
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("hello\n"))
		}
	})
}

func TestResponseHeadersOnProxiedAndLocalAnswers(t *testing.T) {
	up := startUpstream(t, headerfulHandler())
	g := startGateway(t, oneCluster(up.addr, secureConfig, secureRoutes), 1)
	c := dialRaw(t, g.addr)
	cases := []struct {
		name, req, method string
		status            int
		body              string
	}{
		{"proxied GET", "GET /e/x HTTP/1.1\r\nHost: a\r\n\r\n", "GET", 200, "hello\n"},
		{"proxied HEAD", "HEAD /e/x HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD", 200, ""},
		{"proxied 204", "GET /e/204 HTTP/1.1\r\nHost: a\r\n\r\n", "GET", 204, ""},
		{"proxied 304", "GET /e/304 HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"v1\"\r\n\r\n", "GET", 304, ""},
		{"local preflight 204", "OPTIONS /e/x HTTP/1.1\r\nHost: a\r\nAccess-Control-Request-Method: PUT\r\n\r\n", "OPTIONS", 204, ""},
		{"local 304", "GET /e/x HTTP/1.1\r\nHost: a\r\nX-Reply: 304\r\n\r\n", "GET", 304, ""},
		{"local HEAD", "HEAD /e/x HTTP/1.1\r\nHost: a\r\nX-Reply: 200\r\n\r\n", "HEAD", 200, ""},
		{"local GET", "GET /e/x HTTP/1.1\r\nHost: a\r\nX-Reply: 200\r\n\r\n", "GET", 200, "local body\n"},
	}
	for _, tc := range cases {
		c.send(tc.req)
		resp, body := c.readResponse(tc.method)
		if resp.StatusCode != tc.status || body != tc.body {
			t.Fatalf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, body, tc.status, tc.body)
		}
		h := resp.Header
		if v := h.Values("X-Frame-Options"); len(v) != 1 || v[0] != "DENY" {
			t.Errorf("%s: X-Frame-Options %q", tc.name, v)
		}
		if v, ok := h["Server"]; ok {
			t.Errorf("%s: Server not removed: %q", tc.name, v)
		}
		if h.Get("X-Served-By") != "sluice" || h.Get("X-Request-ID") == "" {
			t.Errorf("%s: headers %v", tc.name, h)
		}
		if resp.Close {
			t.Fatalf("%s: connection closed", tc.name)
		}
	}
	// A body-less answer that grew a body would be read here as garbage.
	c.send("GET /e/last HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.readResponse("GET"); resp.StatusCode != 200 || body != "hello\n" {
		t.Fatalf("last: %d %q", resp.StatusCode, body)
	}
}

// BenchmarkProxyResponseHeaders is the round trip with response_headers
// setting, adding and removing headers: it must not allocate.
func BenchmarkProxyResponseHeaders(b *testing.B) {
	benchmarkProxy(b, "middleware:\n  secure: {type: response_headers, set: {X-Frame-Options: DENY}, add: {X-Served-By: sluice}, remove: [Server]}",
		"    middleware: [secure]\n", "")
}
