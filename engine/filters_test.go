package engine

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// Test-only middleware types that exercise each part of the filter contract
// through the engine, independent of the real filters.

// tagFilter adds a header each way and strips X-Secret upstream.
type tagFilter struct{ value string }

func (f *tagFilter) Request(x *filter.Exchange) filter.Verdict {
	x.AddUpstreamHeader("X-Tag", []byte(f.value))
	x.AddResponseHeader("X-Tag-Back", []byte(f.value))
	x.StripUpstream("X-Secret")
	x.RateLimit.Offer(10, 9, 1, true)
	return filter.Continue
}

// denyFilter rejects requests carrying X-Deny.
type denyFilter struct{}

func (denyFilter) Request(x *filter.Exchange) filter.Verdict {
	if x.Req.Header("X-Deny") != nil {
		x.AddResponseHeader("Retry-After", []byte("7"))
		return x.Reject(403, "Forbidden")
	}
	return filter.Continue
}

// parkResumes counts the resumes parkFilter has called (each queues the
// resumed run on the request's loop).
var parkResumes atomic.Int64

// parkFilter parks requests carrying X-Park for that many milliseconds,
// once each (the resumed run continues), like a filter waiting on a fetch.
type parkFilter struct {
	mu     sync.Mutex
	parked map[string]bool // request IDs parked before
}

func (f *parkFilter) Request(x *filter.Exchange) filter.Verdict {
	ms := x.Req.Header("X-Park")
	if ms == nil {
		return filter.Continue
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := string(x.RequestID)
	if f.parked[id] {
		x.AddUpstreamHeader("X-Resumed", []byte("yes"))
		return filter.Continue
	}
	f.parked[id] = true
	var d time.Duration
	fmt.Sscan(string(ms), &d)
	resume := x.Park(0, "")
	time.AfterFunc(d*time.Millisecond, func() { resume(); parkResumes.Add(1) })
	return filter.Pause
}

// finishRecorder records what Finish saw.
type finishRecorder struct{ seen chan string }

func (f *finishRecorder) Request(*filter.Exchange) filter.Verdict { return filter.Continue }

func (f *finishRecorder) Finish(x *filter.Exchange) {
	f.seen <- fmt.Sprintf("%s %s %d %s", x.Method, x.Path, x.Status, x.ClientIP)
}

var testRecorder = &finishRecorder{seen: make(chan string, 100)}

func init() {
	noSettings := func(*config.Middleware) error { return nil }
	filter.Register(filter.Type{Name: "test_tag", Decode: noSettings,
		Build: func(m *config.Middleware) (filter.Filter, error) { return &tagFilter{value: m.Name}, nil }})
	filter.Register(filter.Type{Name: "test_deny", Decode: noSettings,
		Build: func(*config.Middleware) (filter.Filter, error) { return denyFilter{}, nil }})
	filter.Register(filter.Type{Name: "test_park", Decode: noSettings,
		Build: func(*config.Middleware) (filter.Filter, error) { return &parkFilter{parked: map[string]bool{}}, nil }})
	filter.Register(filter.Type{Name: "test_finish", Decode: noSettings,
		Build: func(*config.Middleware) (filter.Filter, error) { return testRecorder, nil }})
}

const filterConfig = `
middleware:
  tag: {type: test_tag}
  deny: {type: test_deny}
  park: {type: test_park}
  rec: {type: test_finish}
`

const filterRoutes = `  - name: guarded
    match: {path: /g/*}
    cluster: up
    middleware: [tag, deny, park, rec]
  - name: open
    match: {path: /*}
    cluster: up
`

func TestFiltersShapeRequestAndResponse(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, filterConfig, filterRoutes), 1)
	c := &http.Client{}

	req, _ := http.NewRequest("GET", g.url("/g/x"), nil)
	req.Header.Set("X-Secret", "s3cret")
	req.Header.Set("X-User-ID", "admin") // forged identity
	resp, e := getJSON(t, c, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if e.Headers["X-Tag"] != "tag" || e.Headers["X-Secret"] != "" || e.Headers["X-User-Id"] != "" {
		t.Errorf("upstream headers: %v", e.Headers)
	}
	for k, want := range map[string]string{"X-Tag-Back": "tag", "Ratelimit-Limit": "10", "Ratelimit-Remaining": "9", "X-Ratelimit-Reset": "1"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("response %s = %q, want %q", k, got, want)
		}
	}
	if got := <-testRecorder.seen; got != "GET /g/x 200 127.0.0.1" {
		t.Errorf("finish saw %q", got)
	}

	// A route without middleware gets none of it.
	resp, e = getJSON(t, c, mustRequest(t, "GET", g.url("/x")))
	if e.Headers["X-Tag"] != "" || resp.Header.Get("X-Tag-Back") != "" {
		t.Errorf("unfiltered route was filtered: %v %v", e.Headers, resp.Header)
	}
}

func TestFilterRejectKeepsConnection(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, filterConfig, filterRoutes), 1)
	rc := dialRaw(t, g.addr)
	rc.send("GET /g/a HTTP/1.1\r\nHost: x\r\nX-Deny: 1\r\n\r\nGET /g/b HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := rc.readResponse("GET")
	if resp.StatusCode != 403 || !strings.Contains(body, `"error":"Forbidden"`) ||
		resp.Header.Get("Retry-After") != "7" || resp.Header.Get("X-Tag-Back") != "tag" {
		t.Fatalf("reject: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, _ := rc.readResponse("GET"); resp.StatusCode != 200 {
		t.Fatalf("next request on the connection: %d", resp.StatusCode)
	}
	for range 2 {
		<-testRecorder.seen
	}
	if up.conns.Load() != 1 {
		t.Errorf("upstream saw %d connections; the rejected request must not reach it", up.conns.Load())
	}
}

func TestParkedRequestResumesInOrder(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, filterConfig, filterRoutes), 1)
	rc := dialRaw(t, g.addr)
	// The first request parks for 100ms; the pipelined second must wait
	// behind it and answer second.
	rc.send("GET /g/1 HTTP/1.1\r\nHost: x\r\nX-Park: 100\r\n\r\nGET /g/2 HTTP/1.1\r\nHost: x\r\n\r\n")
	start := time.Now()
	resp, body := rc.readResponse("GET")
	if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/g/1"`) || !strings.Contains(body, `"X-Resumed":"yes"`) {
		t.Fatalf("parked request: %d %s", resp.StatusCode, body)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("answered after %v; it should have waited for the resume", d)
	}
	if _, body := rc.readResponse("GET"); !strings.Contains(body, `"uri":"/g/2"`) {
		t.Fatalf("second response: %s", body)
	}
	for range 2 {
		<-testRecorder.seen
	}

	// A client that leaves while parked: the late resume finds nothing, and
	// Finish reports 499.
	resumes := parkResumes.Load()
	rc2 := dialRaw(t, g.addr)
	rc2.send("GET /g/3 HTTP/1.1\r\nHost: x\r\nX-Park: 50\r\n\r\n")
	eventually(t, 5*time.Second, "GET /g/3 parked", func() bool { return parkedExchanges(t, g) == 1 })
	rc2.Close()
	if got := <-testRecorder.seen; got != "GET /g/3 499 127.0.0.1" {
		t.Errorf("finish saw %q", got)
	}
	// The resume fires into a recycled exchange: wait until it was queued,
	// then until the loop ran it (its task queue is first in, first out).
	eventually(t, 5*time.Second, "the stale resume", func() bool { return parkResumes.Load() > resumes })
	onEveryLoop(t, g, func(*loop) {})
	if resp, _ := getJSON(t, &http.Client{}, mustRequest(t, "GET", g.url("/g/4"))); resp.StatusCode != 200 {
		t.Fatalf("after a stale resume: %d", resp.StatusCode)
	}
	<-testRecorder.seen
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
