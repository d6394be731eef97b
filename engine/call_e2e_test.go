package engine

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// fanFilter makes the sub-requests its X-Calls header lists ("cluster
// /path, ..."), bodies up to 1 KiB, awaits them, and answers with a line
// per call: status, error, body.
type fanFilter struct{}

func (fanFilter) Request(x *filter.Exchange) filter.Verdict {
	s := x.State()
	if s.V == nil {
		var calls []*filter.Call
		for _, spec := range strings.Split(string(x.Req.Header("X-Calls")), ",") {
			cluster, path, _ := strings.Cut(strings.TrimSpace(spec), " ")
			calls = append(calls, x.Call(cluster, filter.CallRequest{Path: path}, 1<<10))
		}
		s.V = calls
		return x.Await(3*time.Second, "calls timed out")
	}
	var b strings.Builder
	for _, c := range s.V.([]*filter.Call) {
		fmt.Fprintf(&b, "%d %v %s\n", c.Status, c.Err, strings.TrimSpace(string(c.Body)))
	}
	return x.Reply(200, []byte("Content-Type: text/plain\r\n"), []byte(b.String()))
}

func init() {
	filter.Register(filter.Type{Name: "test_fan", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) { return fanFilter{}, nil }})
}

// TestSubRequestsThroughSockets: a filter fans out to two clusters over
// real upstream connections, in parallel (the slow answers overlap), and
// answers with what came back; a call to a cluster that is down gets the
// 502 a client would. The calls' upstream connections are pooled like any.
func TestSubRequestsThroughSockets(t *testing.T) {
	var inFlight, overlap atomic.Int32
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inFlight.Add(1) > 1 {
			overlap.Store(1)
		}
		time.Sleep(150 * time.Millisecond) // a slow lookup: the calls overlap only if parallel
		inFlight.Add(-1)
		fmt.Fprintf(w, "%s id=%s", r.URL.Path, r.Header.Get("X-Request-ID"))
	})
	one, two := startUpstream(t, slow), startUpstream(t, slow)
	down := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`listen: "{{listen}}"
admin: ""
middleware:
  fan: {type: test_fan}
clusters:
  one: {targets: [{url: "http://%s"}], timeouts: {connect: 500ms, response: 2s}}
  two: {targets: [{url: "http://%s"}], timeouts: {connect: 500ms, response: 2s}}
  down: {targets: [{url: "http://%s"}], timeouts: {connect: 500ms, response: 2s}}
routes:
  - {name: fan, match: {path: /fan}, cluster: one, middleware: [fan]}
`, one.addr, two.addr, down), 1)

	req, _ := http.NewRequest("GET", g.url("/fan"), nil)
	req.Header.Set("X-Calls", "one /a, two /b, down /c")
	req.Header.Set("X-Request-ID", "fan-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lines := strings.Split(string(body), "\n")
	if resp.StatusCode != 200 || len(lines) != 4 {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	for i, want := range []string{"200 <nil> /a id=fan-1", "200 <nil> /b id=fan-1",
		`502 <nil> {"error":"upstream connect failed","request_id":"fan-1"}`} {
		if lines[i] != want {
			t.Errorf("call %d: %q, want %q", i, lines[i], want)
		}
	}
	if overlap.Load() == 0 {
		t.Error("the two slow calls did not overlap: not sent in parallel")
	}
	eventually(t, 3*time.Second, "both calls' connections pooled", func() bool { return idleUpstreams(t, g) == 2 })
}

// TestSubRequestClientLeaves: the client hangs up while its calls wait on
// a slow upstream: the calls are cancelled (their upstream connections
// closed, not pooled mid-response), and no client or exchange is left on
// the loop.
func TestSubRequestClientLeaves(t *testing.T) {
	release := make(chan struct{})
	var got atomic.Int32
	stall := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	up := startUpstream(t, stall)
	defer close(release)
	g := startGateway(t, oneCluster(up.addr, "middleware:\n  fan: {type: test_fan}\n",
		"  - {name: fan, match: {path: /fan}, cluster: up, middleware: [fan]}\n"), 1)
	cl := dialRaw(t, g.addr)
	cl.send("GET /fan HTTP/1.1\r\nHost: gw.test\r\nX-Calls: up /a, up /b\r\n\r\n")
	eventually(t, 3*time.Second, "both calls at the upstream", func() bool { return got.Load() == 2 })
	cl.Conn.Close()
	eventually(t, 3*time.Second, "the loop empty", func() bool {
		var c int
		onEveryLoop(t, g, func(lp *loop) { c = lp.w.Census().Clients })
		return c == 0
	})
	eventually(t, 3*time.Second, "the calls' upstream connections closed", func() bool {
		return up.conns.Load() == 2 && idleUpstreams(t, g) == 0 && g.e.caps.upstream.Load() == 0
	})
}
