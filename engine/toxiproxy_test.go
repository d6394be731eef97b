package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests in this file put Shopify's toxiproxy (v2.12.0, its own process,
// see toxiproxy_server_test.go) between the gateway and a real net/http
// upstream, all on 127.0.0.1, and check for every toxic: the documented
// status, the client's keep-alive connection still usable afterwards, every
// response delivered to the client that asked for it (several clients at
// once through each toxic), and no leak: no goroutine, no gateway socket its
// pool forgot, no busy or dialing pool entry left, no upstream connection
// left behind.

// txClients is how many clients go through each toxic at once.
const txClients = 4

// txClientTimeouts keeps each case's client connections open between its
// steps (warm-up, toxics added over the API, the request through them): with
// a short client_idle, a loaded machine let the gateway close them as idle
// first, and the request through the toxic read EOF instead of its answer.
// Client timeouts are not what these tests are about.
const txClientTimeouts = "timeouts: {client_header: 10s, client_idle: 60s}"

// txSockets counts, from /proc/net/tcp, the TCP sockets of the gateway's
// connections to port (this process's side: established, connecting or
// half-closed by the peer but not yet closed by us, i.e. an fd still held)
// and the proxy's side of them.
func txSockets(t *testing.T, port string) (gateway, proxy int) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		local, remote, st := f[1], f[2], f[3]
		held := st == "01" || st == "02" || st == "08" // ESTABLISHED, SYN_SENT, CLOSE_WAIT
		switch {
		case !held:
		case strings.HasSuffix(remote, ":"+port) && !strings.HasSuffix(local, ":"+port):
			gateway++
		case strings.HasSuffix(local, ":"+port):
			proxy++
		}
	}
	return gateway, proxy
}

// txPoolState is what the gateway's pools hold for one target.
type txPoolState struct{ idle, busy, dialing int }

// txPool reads the pool counts for the target at addr on the gateway's loop.
func txPool(t *testing.T, g *gateway, addr string) txPoolState {
	t.Helper()
	var s txPoolState
	onTheLoop(t, g, func(lp *loop) { s.idle, s.busy, s.dialing = lp.w.PoolCensus(addr) })
	return s
}

// txBig is the body of /…/big for id: 64 KiB naming id throughout, so a
// misrouted or spliced body shows.
func txBig(id string) string {
	unit := id + "|"
	return strings.Repeat(unit, 64<<10/len(unit)+1)[:64<<10]
}

// txHandler is the upstream: it counts each request ID it sees and answers
// "id=<X-Request-ID>" (";len=<n>" with a request body), or txBig for a path
// ending in /big.
func txHandler(hits *sync.Map) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		n, _ := hits.LoadOrStore(id, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		switch {
		case strings.HasSuffix(r.URL.Path, "/big"):
			_, _ = io.WriteString(w, txBig(id))
		case len(body) > 0:
			_, _ = fmt.Fprintf(w, "id=%s;len=%d", id, len(body))
		default:
			_, _ = io.WriteString(w, "id="+id)
		}
	}
}

// txWant is what a client must see through a toxic.
type txWant struct {
	status int    // 200, or the gateway's own 502/504
	msg    string // the gateway error's message; "" = any
	// cut: the upstream dies mid-body: a 200 head, a strict prefix of the
	// body, then the gateway closes the connection (never a complete-looking
	// or foreign body). With status 502 too, a 502 before any byte is also
	// fine (an RST may drop what the kernel had buffered).
	cut bool
	// unseen: the upstream must never have seen the request.
	unseen bool
}

// txCase is one toxic scenario through its own proxy.
type txCase struct {
	name     string
	toxics   []string // toxiproxy JSON, added after the warm-up
	down     bool     // stop the proxy: connections refused
	cold     bool     // no warm-up: the toxics apply from the links' start
	timeouts string   // the cluster's timeouts flow map
	method   string   // of the request through the toxic; "" = GET
	path     string   // "x" or "big"
	body     int      // request body size (POST)
	want     txWant
	within   time.Duration // the answer must come within this
}

// txReq writes one request with id and reads its response; it never calls
// t.Fatal, so it runs on any goroutine.
func txReq(c *rawConn, method, path, id string, bodyLen int) (*http.Response, []byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: %s\r\n", method, path, id)
	if bodyLen > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", bodyLen, strings.Repeat("b", bodyLen))
	} else {
		b.WriteString("\r\n")
	}
	if _, err := io.WriteString(c.Conn, b.String()); err != nil {
		return nil, nil, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		return nil, nil, fmt.Errorf("read head: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, err
}

// txCheck judges one response against want. own is the body the upstream
// would send for this request.
func txCheck(id, own string, want txWant, resp *http.Response, body []byte, err error) error {
	if resp == nil {
		return err
	}
	if resp.StatusCode == 200 && want.cut {
		if err == nil {
			return fmt.Errorf("a cut body was read as complete: %d bytes", len(body))
		}
		if !strings.HasPrefix(own, string(body)) || len(body) >= len(own) {
			return fmt.Errorf("cut body is not a prefix of its own (%d bytes): %.60q", len(body), body)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("status %d, body read: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != want.status {
		return fmt.Errorf("status %d %.120q, want %d", resp.StatusCode, body, want.status)
	}
	if rid := resp.Header.Get("X-Request-ID"); rid != id {
		return fmt.Errorf("X-Request-ID %q: another client's response", rid)
	}
	if want.status == 200 {
		if string(body) != own {
			return fmt.Errorf("body %.60q (%d bytes) is not its own %.60q", body, len(body), own)
		}
		return nil
	}
	var e struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.RequestID != id || (want.msg != "" && e.Error != want.msg) {
		return fmt.Errorf("gateway error %q, want %d %q for %s", body, want.status, want.msg, id)
	}
	if resp.Close {
		return errors.New("the gateway error closes the connection; it should keep it")
	}
	return nil
}

// txOwn is the body the upstream answers for a request.
func txOwn(path, id string, bodyLen int) string {
	switch {
	case path == "big":
		return txBig(id)
	case bodyLen > 0:
		return fmt.Sprintf("id=%s;len=%d", id, bodyLen)
	}
	return "id=" + id
}

// txRun starts one upstream, one proxy per case and one gateway with a
// cluster per proxy (no retries, no breaker, no passive ejection, so each
// status is deterministic), then runs each case as a subtest.
func txRun(t *testing.T, cases []txCase) {
	checkGoroutineLeaks(t)
	srv := txStartServer(t)
	hits := new(sync.Map)
	up := startUpstream(t, txHandler(hits))
	proxies := make([]*txProxy, len(cases))
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "listen: \"{{listen}}\"\nadmin: \"\"\n%s\nclusters:\n", txClientTimeouts)
	for i, tc := range cases {
		proxies[i] = srv.proxy(t, fmt.Sprintf("c%d", i), up.addr)
		fmt.Fprintf(&cfg, "  c%d:\n    targets: [{url: \"http://%s\"}]\n    timeouts: %s\n"+
			"    retries: {attempts: 1}\n    breaker: {enabled: false}\n    health: {eject_after: 0}\n",
			i, proxies[i].addr, tc.timeouts)
	}
	cfg.WriteString("routes:\n")
	for i := range cases {
		cfg.WriteString(ftRoute(fmt.Sprintf("c%d", i), fmt.Sprintf("/c%d", i), fmt.Sprintf("c%d", i)))
	}
	g := startGateway(t, cfg.String(), 1)

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := proxies[i]
			p.t = t
			prefix := fmt.Sprintf("/c%d/", i)
			method := tc.method
			if method == "" {
				method = "GET"
			}
			clients := make([]*rawConn, txClients)
			for k := range clients {
				clients[k] = dialRaw(t, g.addr)
			}
			// each runs fn for every client at once and fails t with what they report.
			each := func(what string, fn func(k int, c *rawConn) error) {
				t.Helper()
				errs := make([]error, len(clients))
				var wg sync.WaitGroup
				for k, c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[k] = fn(k, c)
					}()
				}
				wg.Wait()
				for k, err := range errs {
					if err != nil {
						t.Errorf("%s, client %d: %v", what, k, err)
					}
				}
				if t.Failed() {
					t.FailNow()
				}
			}
			good := func(tag string) func(k int, c *rawConn) error {
				return func(k int, c *rawConn) error {
					id := fmt.Sprintf("%s-%d-%d", tag, i, k)
					resp, body, err := txReq(c, "GET", prefix+"x", id, 0)
					return txCheck(id, txOwn("x", id, 0), txWant{status: 200}, resp, body, err)
				}
			}

			if !tc.cold {
				each("warm-up", good("warm"))
			}
			before := txPool(t, g, p.addr)
			gwBefore, _ := txSockets(t, p.port)

			for _, js := range tc.toxics {
				p.add(js)
			}
			if tc.down {
				p.down()
			}
			var slowest atomic.Int64
			each("through the toxic", func(k int, c *rawConn) error {
				id := fmt.Sprintf("toxic-%d-%d", i, k)
				start := time.Now()
				resp, body, err := txReq(c, method, prefix+tc.path, id, tc.body)
				d := time.Since(start)
				if int64(d) > slowest.Load() {
					slowest.Store(int64(d))
				}
				if err := txCheck(id, txOwn(tc.path, id, tc.body), tc.want, resp, body, err); err != nil {
					return err
				}
				if testing.Verbose() && resp != nil {
					t.Logf("client %d: %d, %d body bytes, read error %v, after %v", k, resp.StatusCode, len(body), err, d.Round(time.Millisecond))
				}
				if tc.within > 0 && d > tc.within {
					return fmt.Errorf("answered after %v, want within %v", d, tc.within)
				}
				if tc.want.unseen && hitCount(hits, id) != 0 {
					return fmt.Errorf("the upstream saw %s, which the toxic should have stopped", id)
				}
				return nil
			})

			p.heal()
			if tc.want.cut {
				// The gateway must have closed each cut client; a new
				// connection works.
				each("after the cut", func(k int, c *rawConn) error {
					_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
					if n, err := c.r.ReadByte(); err == nil {
						return fmt.Errorf("byte %q after a cut body; want the connection closed", n)
					} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
						return errors.New("connection left open after a cut body")
					}
					return nil
				})
				for k := range clients {
					clients[k] = dialRaw(t, g.addr)
				}
			}
			// The same client connections (new ones after a cut) serve a
			// good request through the healed proxy, and nothing else
			// arrives on them: no late answer from an abandoned upstream.
			each("after the toxic", func(k int, c *rawConn) error {
				if err := good("after")(k, c); err != nil {
					return err
				}
				_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if b, err := c.r.ReadByte(); err == nil {
					return fmt.Errorf("stray byte %q after the response", b)
				} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					return fmt.Errorf("keep-alive connection closed: %v", err)
				}
				return nil
			})
			for _, c := range clients {
				c.Close()
			}

			// Leaks: every socket the gateway holds towards this proxy is an
			// idle pooled connection, nothing is left busy or dialing, the
			// proxy mirrors exactly those, and so does the upstream overall.
			var after txPoolState
			var gw, px int
			var upOpen, gwAll int64
			waitUntil(3*time.Second, func() bool {
				after = txPool(t, g, p.addr)
				gw, px = txSockets(t, p.port)
				gwAll = 0
				for _, q := range proxies {
					n, _ := txSockets(t, q.port)
					gwAll += int64(n)
				}
				upOpen = up.open.Load()
				return after.busy == 0 && after.dialing == 0 && gw == after.idle && px == gw &&
					after.idle <= txClients && upOpen == gwAll
			})
			t.Logf("slowest toxic answer %v; pool before %+v after %+v; gateway sockets before %d after %d; proxy side %d; upstream open %d (all gateway sockets %d)",
				time.Duration(slowest.Load()).Round(time.Millisecond), before, after, gwBefore, gw, px, upOpen, gwAll)
			if after.busy != 0 || after.dialing != 0 {
				t.Errorf("pool left %d busy, %d dialing after every exchange ended", after.busy, after.dialing)
			}
			if gw != after.idle {
				t.Errorf("gateway holds %d sockets to the proxy, its pool knows %d: leaked connections", gw, after.idle)
			}
			if after.idle > txClients {
				t.Errorf("%d idle connections for %d clients", after.idle, txClients)
			}
			if px != gw {
				t.Errorf("proxy holds %d connections, the gateway %d", px, gw)
			}
			if upOpen != gwAll {
				t.Errorf("upstream has %d open connections, the gateway %d through all proxies", upOpen, gwAll)
			}
		})
	}
}

// TestToxiproxyDegradedButWorking: latency, a bandwidth limit and slicing
// (both ways) slow an upstream down without breaking it: every client gets
// its own complete response.
func TestToxiproxyDegradedButWorking(t *testing.T) {
	relaxed := "{connect: 500ms, response: 2s}"
	txRun(t, []txCase{
		{name: "latency 150ms on responses", timeouts: relaxed, path: "x",
			toxics: []string{`{"name":"lat","type":"latency","stream":"downstream","attributes":{"latency":150,"jitter":50}}`},
			want:   txWant{status: 200}},
		{name: "latency 150ms on requests (POST)", timeouts: relaxed, method: "POST", path: "x", body: 3000,
			toxics: []string{`{"name":"lat","type":"latency","stream":"upstream","attributes":{"latency":150}}`},
			want:   txWant{status: 200}},
		// 64 KiB at 128 KB/s: about half a second per response, each
		// client on its own link.
		{name: "bandwidth 128KB/s on a 64KiB response", timeouts: relaxed, path: "big",
			toxics: []string{`{"name":"bw","type":"bandwidth","stream":"downstream","attributes":{"rate":128}}`},
			want:   txWant{status: 200}},
		{name: "bandwidth 64KB/s on a 16KiB request body", timeouts: relaxed, method: "POST", path: "x", body: 16 << 10,
			toxics: []string{`{"name":"bw","type":"bandwidth","stream":"upstream","attributes":{"rate":64}}`},
			want:   txWant{status: 200}},
		// The response head arrives in 1..9 byte pieces: the head parser
		// resumes across reads.
		{name: "slicer: response in 1-9 byte pieces", timeouts: relaxed, path: "x",
			toxics: []string{`{"name":"sl","type":"slicer","stream":"downstream","attributes":{"average_size":5,"size_variation":4,"delay":300}}`},
			want:   txWant{status: 200}},
		{name: "slicer: 64KiB response in ~1KiB pieces", timeouts: relaxed, path: "big",
			toxics: []string{`{"name":"sl","type":"slicer","stream":"downstream","attributes":{"average_size":1000,"size_variation":900,"delay":50}}`},
			want:   txWant{status: 200}},
		{name: "slicer: request in 1-9 byte pieces", timeouts: relaxed, method: "POST", path: "x", body: 500,
			toxics: []string{`{"name":"sl","type":"slicer","stream":"upstream","attributes":{"average_size":5,"size_variation":4,"delay":300}}`},
			want:   txWant{status: 200}},
	})
}

// TestToxiproxyFailingUpstream: toxics that break the upstream before any
// response byte reach the client get each client its own 502 or 504 JSON,
// on a connection that stays usable.
func TestToxiproxyFailingUpstream(t *testing.T) {
	tight := "{connect: 300ms, response: 400ms}"
	txRun(t, []txCase{
		{name: "latency past the response timeout: 504", timeouts: tight, path: "x",
			toxics: []string{`{"name":"lat","type":"latency","stream":"downstream","attributes":{"latency":1200}}`},
			want:   txWant{status: 504, msg: "upstream timeout"}, within: 1200 * time.Millisecond},
		{name: "request held past the response timeout: 504", timeouts: tight, path: "x",
			toxics: []string{`{"name":"lat","type":"latency","stream":"upstream","attributes":{"latency":1200}}`},
			want:   txWant{status: 504, msg: "upstream timeout"}, within: 1200 * time.Millisecond},
		{name: "timeout toxic swallowing responses: 504", timeouts: tight, path: "x",
			toxics: []string{`{"name":"to","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`},
			want:   txWant{status: 504, msg: "upstream timeout"}, within: 1200 * time.Millisecond},
		{name: "timeout toxic swallowing requests: 504, never delivered", timeouts: tight, path: "x",
			toxics: []string{`{"name":"to","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`},
			want:   txWant{status: 504, msg: "upstream timeout", unseen: true}, within: 1200 * time.Millisecond},
		{name: "timeout toxic closing silently after 100ms: 502", timeouts: tight, path: "x",
			toxics: []string{`{"name":"to","type":"timeout","stream":"downstream","attributes":{"timeout":100}}`},
			want:   txWant{status: 502, msg: "upstream closed the connection"}, within: 1200 * time.Millisecond},
		{name: "reset_peer on the response: 502", timeouts: tight, path: "x",
			toxics: []string{`{"name":"rst","type":"reset_peer","stream":"downstream","attributes":{"timeout":0}}`},
			want:   txWant{status: 502, msg: "upstream closed the connection"}, within: time.Second},
		{name: "reset_peer on the request: 502, never delivered", timeouts: tight, method: "POST", path: "x", body: 100,
			toxics: []string{`{"name":"rst","type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}`},
			want:   txWant{status: 502, msg: "upstream closed the connection", unseen: true}, within: time.Second},
		// 20 bytes: the status line and a bit; then the proxy closes.
		{name: "limit_data inside the response head: 502", timeouts: tight, path: "x",
			toxics: []string{`{"name":"lim","type":"limit_data","stream":"downstream","attributes":{"bytes":20}}`},
			want:   txWant{status: 502, msg: "upstream closed the connection"}, within: time.Second},
		{name: "proxy down, connections refused: 502", timeouts: tight, path: "x", down: true,
			want: txWant{status: 502, msg: "upstream connect failed"}, within: 300 * time.Millisecond},
	})
}

// TestToxiproxyCutMidBody: an upstream that dies in the middle of a body the
// client has started to receive: the client gets a strict prefix of its own
// body and a closed connection, never a complete-looking or foreign one.
func TestToxiproxyCutMidBody(t *testing.T) {
	relaxed := "{connect: 500ms, response: 2s}"
	txRun(t, []txCase{
		// limit_data closes with a FIN after 3000 bytes of the 64 KiB response.
		{name: "FIN mid-body (limit_data)", timeouts: relaxed, path: "big",
			toxics: []string{`{"name":"lim","type":"limit_data","stream":"downstream","attributes":{"bytes":3000}}`},
			want:   txWant{status: 200, cut: true}, within: time.Second},
		// A reset_peer toxic that never fires (toxicity 0) still makes
		// toxiproxy set SO_LINGER 0 on links started with it: its close
		// after limit_data is an RST. Cold, so every link starts with it.
		{name: "RST mid-body (limit_data + linger 0)", timeouts: relaxed, path: "big", cold: true,
			toxics: []string{
				`{"name":"lim","type":"limit_data","stream":"downstream","attributes":{"bytes":3000}}`,
				`{"name":"rst","type":"reset_peer","stream":"upstream","toxicity":0,"attributes":{"timeout":0}}`,
			},
			want: txWant{status: 502, cut: true}, within: time.Second},
		// The response comes in 4000-byte pieces 20ms apart and stops
		// after 9000 bytes: the client has been streamed part of the body
		// across several reads before the FIN.
		{name: "FIN mid-body after sliced pieces", timeouts: relaxed, path: "big",
			toxics: []string{
				`{"name":"sl","type":"slicer","stream":"downstream","attributes":{"average_size":4000,"size_variation":0,"delay":20000}}`,
				`{"name":"lim","type":"limit_data","stream":"downstream","attributes":{"bytes":9000}}`,
			},
			want: txWant{status: 200, cut: true}, within: time.Second},
	})
}
