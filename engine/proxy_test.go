package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// echo describes what reached the upstream.
func echoHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hdr := map[string]string{}
		for k := range r.Header {
			hdr[k] = strings.Join(r.Header.Values(k), "|")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", name)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "uri": r.RequestURI, "host": r.Host, "proto": r.Proto,
			"headers": hdr, "body": string(body), "te": r.TransferEncoding,
		})
	})
}

type echoed struct {
	Method  string            `json:"method"`
	URI     string            `json:"uri"`
	Host    string            `json:"host"`
	Proto   string            `json:"proto"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	TE      []string          `json:"te"`
}

func getJSON(t *testing.T, c *http.Client, req *http.Request) (*http.Response, echoed) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e echoed
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("decode %q: %v", body, err)
		}
	}
	return resp, e
}

const routingRoutes = `  - name: user
    match: {path: /api/users/:id, methods: [GET, PUT]}
    cluster: up
  - name: new-user
    match: {path: /api/users/new}
    cluster: up
  - name: echo
    match: {path: /api/echo/*rest}
    cluster: up
    strip_prefix: /api
  - name: admin
    match: {path: /api/admin/*}
    cluster: up
`

// TestRouting drives routes, params, prefix stripping, normalisation, 404 and
// 405 through the real gateway with net/http.
func TestRouting(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	c := &http.Client{}
	cases := []struct {
		name, method, path string
		status             int
		upstreamURI        string
	}{
		{"param route forwards the path unchanged", "GET", "/api/users/42?x=1", 200, "/api/users/42?x=1"},
		{"static beats param", "GET", "/api/users/new", 200, "/api/users/new"},
		{"strip_prefix removes /api", "POST", "/api/echo/a/b", 200, "/echo/a/b"},
		{"dot segments resolved before routing and forwarding", "GET", "/api/users/7/../../admin/x", 200, "/api/admin/x"},
		{"unreserved percent-encoding decoded", "GET", "/api/%75sers/9", 200, "/api/users/9"},
		{"no route is 404", "GET", "/nope", 404, ""},
		{"wrong method is 405", "DELETE", "/api/users/42", 405, ""},
		{"climbing above root is 400", "GET", "/api/../../etc/passwd", 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, g.url(tc.path), nil)
			req.URL.Opaque = tc.path // keep the path exactly as written
			if i := strings.IndexByte(tc.path, '?'); i >= 0 {
				req.URL.Opaque = tc.path[:i]
				req.URL.RawQuery = tc.path[i+1:]
			}
			resp, e := getJSON(t, c, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 200 && e.URI != tc.upstreamURI {
				t.Fatalf("upstream saw %q, want %q", e.URI, tc.upstreamURI)
			}
			if resp.Header.Get("X-Request-ID") == "" {
				t.Fatal("no X-Request-ID on the response")
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
}

// TestErrorsAreJSON pins the error body contract (DESIGN §5).
func TestErrorsAreJSON(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	req, _ := http.NewRequest("GET", g.url("/missing"), nil)
	req.Header.Set("X-Request-ID", "req-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" ||
		body.Error != "no route" || body.RequestID != "req-123" || resp.Header.Get("X-Request-ID") != "req-123" {
		t.Fatalf("got %d %q %+v", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestForwardingHeaders checks X-Forwarded-*, Via, request IDs, hop-by-hop
// removal both ways and that identity headers cannot be forged.
func TestForwardingHeaders(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Secret")
		w.Header().Set("X-Secret", "hop")
		w.Header().Set("Keep-Alive", "timeout=5")
		echoHandler("a").ServeHTTP(w, r)
	}))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	req, _ := http.NewRequest("GET", g.url("/api/users/1"), nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-User-ID", "forged")
	req.Header.Set("X-Consumer-ID", "forged")
	req.Header.Set("Connection", "X-Drop-Me")
	req.Header.Set("X-Drop-Me", "1")
	req.Header.Set("Proxy-Authorization", "secret")
	req.Header.Set("X-Kept", "yes")
	resp, e := getJSON(t, http.DefaultClient, req)
	h := e.Headers
	checks := []struct{ name, got, want string }{
		// The peer is not a trusted proxy: its X-Forwarded-For is replaced.
		{"X-Forwarded-For is the peer", h["X-Forwarded-For"], "127.0.0.1"},
		{"X-Real-IP is the client", h["X-Real-Ip"], "127.0.0.1"},
		{"X-Forwarded-Proto", h["X-Forwarded-Proto"], "http"},
		{"X-Forwarded-Host", h["X-Forwarded-Host"], g.addr},
		{"Via", h["Via"], "1.1 sluice"},
		{"X-User-ID removed", h["X-User-Id"], ""},
		{"X-Consumer-ID removed", h["X-Consumer-Id"], ""},
		{"header named in Connection removed", h["X-Drop-Me"], ""},
		{"hop-by-hop removed", h["Proxy-Authorization"], ""},
		{"end-to-end header kept", h["X-Kept"], "yes"},
		{"request ID forwarded = returned", h["X-Request-Id"], resp.Header.Get("X-Request-ID")},
		{"upstream Host is the target", e.Host, up.addr},
		{"response: header named in Connection removed", resp.Header.Get("X-Secret"), ""},
		{"response: Keep-Alive removed", resp.Header.Get("Keep-Alive"), ""},
		{"response: Via", resp.Header.Get("Via"), "1.1 sluice"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(resp.Header.Get("X-Request-ID")) != 32 { // 32 hex digits (proxy's reqid.go)
		t.Errorf("generated request ID %q", resp.Header.Get("X-Request-ID"))
	}
}

// TestKeepAliveReuse proves upstream connections are pooled: many requests
// from several clients use far fewer upstream connections.
func TestKeepAliveReuse(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 2)
	const clients, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for j := range each {
				resp, err := c.Get(g.url(fmt.Sprintf("/api/users/%d-%d", i, j)))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := up.conns.Load(); n > 2*clients {
		t.Fatalf("upstream saw %d connections for %d requests; want <= %d", n, clients*each, 2*clients)
	}
}

// TestPipelining sends three requests in one write and expects three
// responses in order on the same connection.
func TestPipelining(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	c := dialRaw(t, g.addr)
	c.send("GET /api/users/1 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /api/echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /api/users/3 HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{`"uri":"/api/users/1"`, `"body":"hello"`, `"uri":"/api/users/3"`} {
		resp, body := c.readResponse("GET")
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Fatalf("got %d %s, want %s", resp.StatusCode, body, want)
		}
	}
}

// TestHTTP10 covers HTTP/1.0 clients with and without keep-alive.
func TestHTTP10(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)

	c := dialRaw(t, g.addr)
	c.send("GET /api/users/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body := c.readResponse("GET")
	if resp.StatusCode != 200 || resp.Header.Get("Connection") != "keep-alive" || !strings.Contains(body, `"uri":"/api/users/1"`) {
		t.Fatalf("1.0 keep-alive: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	c.send("GET /api/users/2 HTTP/1.0\r\n\r\n")
	resp, body = c.readResponse("GET")
	if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/api/users/2"`) {
		t.Fatalf("1.0 second request: %d %s", resp.StatusCode, body)
	}
	c.expectEOF() // no keep-alive asked: the gateway closes
}

// TestChunkedBothWays streams a chunked request body up and a chunked
// response down, and de-chunks for an HTTP/1.0 client.
func TestChunkedBothWays(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f := w.(http.Flusher)
		for _, part := range []string{"got:", string(body), ":end"} {
			io.WriteString(w, part)
			f.Flush() // no Content-Length: net/http answers chunked
		}
	}))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)

	c := dialRaw(t, g.addr)
	c.send("POST /api/echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
	resp, body := c.readResponse("POST")
	if resp.StatusCode != 200 || body != "got:hello world:end" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("chunked 1.1: %d %q te=%v", resp.StatusCode, body, resp.TransferEncoding)
	}

	c10 := dialRaw(t, g.addr)
	c10.send("POST /api/echo/x HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi")
	resp, body = c10.readResponse("POST")
	if resp.StatusCode != 200 || body != "got:hi:end" || len(resp.TransferEncoding) != 0 {
		t.Fatalf("de-chunked 1.0: %d %q te=%v", resp.StatusCode, body, resp.TransferEncoding)
	}
	c10.expectEOF()
}

// TestHeadNoContentNotModified checks responses that have no body whatever
// their headers say.
func TestHeadNoContentNotModified(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path { // strip_prefix removed /api
		case "/echo/204":
			w.WriteHeader(204)
		case "/echo/304":
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "11")
			io.WriteString(w, "hello world")
		}
	}))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	c := dialRaw(t, g.addr)
	c.send("HEAD /api/echo/x HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /api/echo/204 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /api/echo/304 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /api/echo/x HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []struct {
		method string
		status int
		body   string
	}{{"HEAD", 200, ""}, {"GET", 204, ""}, {"GET", 304, ""}, {"GET", 200, "hello world"}} {
		resp, body := c.readResponse(want.method)
		if resp.StatusCode != want.status || body != want.body {
			t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, want.status, want.body)
		}
	}
}

// TestExpectContinue relays the upstream's 100 Continue to the client, which
// then sends its body.
func TestExpectContinue(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	c := dialRaw(t, g.addr)
	c.send("POST /api/echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	line, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue first, got %q %v", line, err)
	}
	if blank, _ := c.r.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("100 Continue head not terminated: %q", blank)
	}
	c.send("ping")
	resp, body := c.readResponse("POST")
	if resp.StatusCode != 200 || !strings.Contains(body, `"body":"ping"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
}

// TestBadRequestsCloseTheConnection: ambiguous framing gets 400 + close and
// never reaches the upstream.
func TestBadRequestsCloseTheConnection(t *testing.T) {
	var hits sync.Map
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
	}))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	cases := []struct {
		name, req string
		status    int
	}{
		{"CL and TE together", "POST /api/echo/smuggle1 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"differing Content-Lengths", "POST /api/echo/smuggle2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"obs-fold", "GET /api/echo/fold HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400},
		{"missing Host on 1.1", "GET /api/echo/nohost HTTP/1.1\r\n\r\n", 400},
		{"chunked not final (RFC 9112 §6.3)", "POST /api/echo/gzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
		{"unknown transfer coding (RFC 9112 §6.1)", "POST /api/echo/gzip2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"header too large", "GET /api/echo/big HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", 431},
		{"URI too long", "GET /api/echo/" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			c.send(tc.req)
			resp, _ := c.readResponse("GET")
			if resp.StatusCode != tc.status || !resp.Close {
				t.Fatalf("got %d (close %v), want %d and Connection: close", resp.StatusCode, resp.Close, tc.status)
			}
			c.expectEOF()
		})
	}
	hits.Range(func(k, _ any) bool {
		t.Errorf("upstream received %v", k)
		return true
	})
}

// TestPipelineFloodIsCut: a client that pipelines megabytes of requests
// without reading its responses is disconnected once what it queued with us
// passes inHighWater, instead of growing the gateway's buffers without bound.
func TestPipelineFloodIsCut(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	c := dialRaw(t, g.addr)
	req := "GET /api/users/1 HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 200) + "\r\n\r\n"
	flood := strings.Repeat(req, (4<<20)/len(req)) // 4 MiB of requests
	go func() { _, _ = io.WriteString(c.Conn, flood) }()
	// Read nothing for a while, then drain: the stream must end in a close
	// long before all the requests could have been answered.
	var answered int
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered++
	}
	if total := (4 << 20) / len(req); answered >= total {
		t.Fatalf("all %d flooded requests were answered; the connection was never cut", total)
	}
	resp, err := http.Get(g.url("/api/users/2"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("gateway unhealthy after the flood: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestInterimResponsesLoseHopByHopHeaders: a 103 Early Hints reaches an
// HTTP/1.1 client with its Link header but without the upstream's
// hop-by-hop headers, and the final response follows intact.
func TestInterimResponsesLoseHopByHopHeaders(t *testing.T) {
	up := startScriptedUpstream(t, func(c net.Conn) {
		rawLoop(c, func(_ int, _ *http.Request) (string, bool) {
			return "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\r\n" +
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true
		})
	})
	g := startGateway(t, oneCluster(up.addr, "", routingRoutes), 1)
	c := dialRaw(t, g.addr)
	c.send("GET /api/users/1 HTTP/1.1\r\nHost: x\r\n\r\n")
	var interim []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
		interim = append(interim, strings.TrimSpace(line))
	}
	got := strings.Join(interim, "|")
	if !strings.HasPrefix(got, "HTTP/1.1 103") || !strings.Contains(got, "Link: </a.css>") ||
		strings.Contains(got, "X-Hop") || strings.Contains(got, "Keep-Alive") {
		t.Fatalf("interim head relayed as %q", got)
	}
	resp, body := c.readResponse("GET")
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("final: %d %q", resp.StatusCode, body)
	}
}
