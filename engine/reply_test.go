package engine

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// replyFilter answers at the edge with Exchange.Reply, like a CORS
// preflight or a cache hit: OPTIONS gets a precomputed 204; a request
// carrying X-Reply gets that status with a precomputed plain-text body.
type replyFilter struct{ preflight, local []byte }

var replyBody = []byte("local body\n")

func newReplyFilter() *replyFilter {
	f := &replyFilter{}
	f.preflight = filter.AppendHeader(f.preflight, "Access-Control-Allow-Origin", []byte("*"))
	f.preflight = filter.AppendHeader(f.preflight, "Access-Control-Allow-Methods", []byte("GET, PUT"))
	f.local = filter.AppendHeader(f.local, "Content-Type", []byte("text/plain"))
	f.local = filter.AppendHeader(f.local, "X-Local", []byte("yes"))
	return f
}

func (f *replyFilter) Request(x *filter.Exchange) filter.Verdict {
	if string(x.Method) == "OPTIONS" {
		return x.Reply(204, f.preflight, nil)
	}
	if s := x.Req.Header("X-Reply"); s != nil {
		status, _ := strconv.Atoi(string(s))
		return x.Reply(status, f.local, replyBody)
	}
	return filter.Continue
}

func init() {
	filter.Register(filter.Type{Name: "test_reply", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) { return newReplyFilter(), nil }})
}

const replyConfig = `
middleware:
  tag: {type: test_tag}
  reply: {type: test_reply}
`

const replyRoutes = `  - name: edge
    match: {path: /r/*}
    cluster: up
    middleware: [tag, reply]
`

// countingHandler counts the requests that reached the upstream.
func countingHandler(n *atomic.Int64) http.Handler {
	h := echoHandler("a")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); h.ServeHTTP(w, r) })
}

// TestReplyPreflight204 answers OPTIONS at the edge with the filter's 204:
// no body, no Content-Length, the filter's headers and the request ID, the
// upstream never called, and the connection good for the next request.
func TestReplyPreflight204(t *testing.T) {
	var hits atomic.Int64
	up := startUpstream(t, countingHandler(&hits))
	g := startGateway(t, oneCluster(up.addr, replyConfig, replyRoutes), 1)
	c := dialRaw(t, g.addr)

	c.send("OPTIONS /r/x HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n\r\n")
	resp, body := c.readResponse("OPTIONS")
	if resp.StatusCode != 204 || body != "" {
		t.Fatalf("preflight: %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Methods"); got != "GET, PUT" {
		t.Errorf("Access-Control-Allow-Methods = %q", got)
	}
	if _, ok := resp.Header["Content-Length"]; ok {
		t.Errorf("204 carries Content-Length %q", resp.Header.Get("Content-Length"))
	}
	if resp.Header.Get("X-Request-ID") == "" || resp.Header.Get("X-Tag-Back") != "tag" || resp.Header.Get("Date") == "" {
		t.Errorf("gateway headers missing: %v", resp.Header)
	}
	if resp.Close {
		t.Error("a bodiless request's reply closed the connection")
	}
	c.send("GET /r/y HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.readResponse("GET"); resp.StatusCode != 200 || resp.Header.Get("X-Upstream") != "a" {
		t.Fatalf("proxied after the reply: %d %v", resp.StatusCode, resp.Header)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("upstream saw %d requests, want only the GET", n)
	}
}

// TestReplyBodyGuard sends replies with a body-forbidding status or to
// HEAD: their body must not reach the wire (a stray body would be read as
// the next response's start), while a 200 to GET carries it with its length.
func TestReplyBodyGuard(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, replyConfig, replyRoutes), 1)
	c := dialRaw(t, g.addr)
	cases := []struct {
		method     string
		status     int
		body, clen string // clen "" means no Content-Length header
	}{
		{"GET", 200, "local body\n", "11"},
		{"HEAD", 200, "", "11"},
		{"GET", 204, "", ""},
		{"GET", 304, "", ""},
		{"GET", 418, "local body\n", "11"},
		{"HEAD", 404, "", "11"},
	}
	for _, tc := range cases {
		c.send(tc.method + " /r/x HTTP/1.1\r\nHost: a\r\nX-Reply: " + strconv.Itoa(tc.status) + "\r\n\r\n")
		resp, body := c.readResponse(tc.method)
		clen, hasLen := resp.Header["Content-Length"]
		if resp.StatusCode != tc.status || body != tc.body || (tc.clen == "") == hasLen || (hasLen && clen[0] != tc.clen) {
			t.Fatalf("%s %d: got %d %q Content-Length %v", tc.method, tc.status, resp.StatusCode, body, clen)
		}
		if resp.Header.Get("X-Local") != "yes" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("%s %d: filter headers missing: %v", tc.method, tc.status, resp.Header)
		}
	}
	// Nothing stray is left on the connection: the next response parses.
	c.send("GET /r/y HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := c.readResponse("GET"); resp.StatusCode != 200 {
		t.Fatalf("after the replies: %d", resp.StatusCode)
	}
}

// TestReplyWithUnreadBodyCloses: a reply given before the request body was
// read leaves the stream at an unknown point, so the connection closes; a
// non-final status from a filter is its bug and answers 500.
func TestReplyWithUnreadBodyCloses(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, replyConfig+"limits: {request_buffer_bytes: 0}\n", replyRoutes), 1)

	c := dialRaw(t, g.addr)
	c.send("POST /r/x HTTP/1.1\r\nHost: a\r\nX-Reply: 201\r\nContent-Length: 100\r\n\r\npartial")
	resp, body := c.readResponse("POST")
	if resp.StatusCode != 201 || body != "local body\n" || !resp.Close {
		t.Fatalf("got %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	c.expectEOF()

	c = dialRaw(t, g.addr)
	c.send("GET /r/x HTTP/1.1\r\nHost: a\r\nX-Reply: 100\r\n\r\n")
	if resp, body := c.readResponse("GET"); resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("non-final reply: %d %q", resp.StatusCode, body)
	}
}

// BenchmarkLocalReply is a filter's Reply with headers and body it
// precomputed: the whole answer must not allocate.
func BenchmarkLocalReply(b *testing.B) {
	benchmarkRoundTrip(b, plainResponse, "local body\n", "middleware:\n  reply: {type: test_reply}",
		"    middleware: [reply]\n", plainGET("X-Reply: 200\r\n"))
}
