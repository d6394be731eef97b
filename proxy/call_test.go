package proxy

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/upstream"
)

// callFilter makes the sub-requests its X-Calls header lists
// ("cluster /path, cluster /path", limit X-Limit bytes), awaits them, then
// answers with one line per call: status, error, body.
type callFilter struct{}

func (callFilter) Request(x *filter.Exchange) filter.Verdict {
	s := x.State()
	if s.V == nil {
		limit, _ := strconv.Atoi(string(x.Req.Header("X-Limit")))
		var calls []*filter.Call
		for _, spec := range strings.Split(string(x.Req.Header("X-Calls")), ",") {
			cluster, path, _ := strings.Cut(strings.TrimSpace(spec), " ")
			calls = append(calls, x.Call(cluster, filter.CallRequest{Path: path,
				Header: filter.AppendHeader(nil, "X-Sub", []byte(path))}, limit))
		}
		s.V = calls
		return x.Await(2*time.Second, "calls timed out")
	}
	var b strings.Builder
	for _, c := range s.V.([]*filter.Call) {
		if !c.Done() {
			b.WriteString("NOT DONE\n")
			continue
		}
		fmt.Fprintf(&b, "%d %v %q\n", c.Status, c.Err, c.Body)
	}
	return x.Reply(200, []byte("Content-Type: text/plain\r\n"), []byte(b.String()))
}

func init() {
	filter.Register(filter.Type{Name: "test_call", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) { return callFilter{}, nil }})
}

// callConfig: /fan runs callFilter; cluster up (one target, response
// timeout 1s, no retries), cluster brk (a breaker that opens at the first
// failure).
var callConfig = strings.Replace(timeoutConfig, "routes:\n", `  brk:
    targets:
      - url: http://192.0.2.9:8080
    timeouts: {connect: 500ms, response: 1s}
    breaker: {consecutive_failures: 1, recovery_timeout: 30s}
middleware:
  fan: {type: test_call}
routes:
  - name: fan
    match: {path: /fan}
    cluster: up
    middleware: [fan]
`, 1)

// callAnswer is the body callFilter answered with, "" when nothing came.
func callAnswer(t *testing.T, cl *memClient) string {
	t.Helper()
	head, body := split(cl.c.takeOut())
	if head == "" {
		return ""
	}
	if got := statusLine(head); got != "HTTP/1.1 200 OK" {
		t.Fatalf("client got %q:\n%s", got, body)
	}
	return body
}

// TestCallsInParallel: two calls to one cluster go out together on two
// connections (each its own exchange), carry the parent's request ID, and
// the parent resumes only when the last is in.
func TestCallsInParallel(t *testing.T) {
	r := newRig(t, callConfig)
	cl := r.client("203.0.113.9")
	cl.send("GET /fan HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: parent-1\r\nX-Calls: up /a, up /b\r\nX-Limit: 100\r\n\r\n")
	if len(r.lp.dials) != 0 {
		t.Fatal("a call started inside the filter's Request")
	}
	r.run()
	a, b := r.dial(), r.dial()
	for _, u := range []*memUp{a, b} {
		head := u.c.takeOut()
		if !strings.HasPrefix(head, "GET /a HTTP/1.1\r\n") && !strings.HasPrefix(head, "GET /b HTTP/1.1\r\n") {
			t.Fatalf("sub-request head:\n%s", lines(head))
		}
		for _, want := range []string{"\r\nHost: 192.0.2.1:8080\r\n", "\r\nX-Request-ID: parent-1\r\n", "\r\nX-Sub: /"} {
			if !strings.Contains(head, want) {
				t.Errorf("sub-request head lacks %q:\n%s", want, lines(head))
			}
		}
	}
	b.reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nbb")
	r.run()
	if out := cl.c.takeOut(); out != "" {
		t.Fatalf("the parent answered with a call still running: %q", out)
	}
	a.reply("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\naa\r\n0\r\n\r\n")
	r.run()
	if got, want := callAnswer(t, cl), "201 <nil> \"aa\"\n200 <nil> \"bb\"\n"; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	if a.s.closed || b.s.closed {
		t.Error("a call's clean connection was closed, not pooled")
	}
	if c := r.w.Census(); c.Clients != 1 || c.IdleUpstreams != 2 {
		t.Errorf("after the calls: %+v, want the parent client and 2 pooled connections", c)
	}
}

// TestCallFailures: a call that times out gets the 504 a client would, one
// to an open breaker the 503, one to an unknown cluster an error at once,
// one past its limit ErrCallTooLarge with its connection closed; the others
// are unaffected.
func TestCallFailures(t *testing.T) {
	r := newRig(t, callConfig)
	brk := r.px.Snapshot().Clusters["brk"]
	tg, _ := brk.Select(0, nil, r.now)
	brk.Done(tg, upstream.Failure, r.now) // consecutive_failures 1: open
	cl := r.client("203.0.113.9")
	cl.send("GET /fan HTTP/1.1\r\nHost: gw.test\r\nX-Calls: up /slow, brk /x, nope /y, up /big, up /huge, up /ok\r\nX-Limit: 200\r\n\r\n")
	r.run()
	slow, big, huge, ok := r.dial(), r.dial(), r.dial(), r.dial()
	if len(r.lp.dials) != 0 {
		t.Fatalf("the open breaker's target was dialed: %s", r.lp.dials[0].addr)
	}
	// Past the limit: read whole (so the connection is pooled), refused.
	big.reply("HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" + strings.Repeat("z", 300))
	// Past what a call buffers: cut off, and its connection closed.
	huge.reply("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("z", 50000))
	ok.reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	r.run()
	if !huge.s.closed || big.s.closed {
		t.Errorf("over-limit calls' connections closed: cut %v (want true), whole %v (want false)", huge.s.closed, big.s.closed)
	}
	r.advance(900 * time.Millisecond)
	r.run()
	if out := cl.c.takeOut(); out != "" {
		t.Fatalf("answered before the slow call's timeout: %q", out)
	}
	r.advance(200 * time.Millisecond)
	r.run()
	got := strings.Split(callAnswer(t, cl), "\n")
	want := []string{
		`504 <nil> "{\"error\":\"upstream timeout\",\"request_id\":\"`,
		`503 <nil> "{\"error\":\"no healthy upstream\",\"request_id\":\"`,
		`0 call: no such cluster ""`,
		`0 call: response larger than the limit ""`,
		`0 call: response larger than the limit ""`,
		`200 <nil> "ok"`,
	}
	if len(got) != len(want)+1 {
		t.Fatalf("answer lines %q", got)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("call %d: %q, want %q…", i, got[i], w)
		}
	}
	if !slow.s.closed {
		t.Error("the timed-out call's connection was not closed")
	}
	if c := r.w.Census(); c.Clients != 1 {
		t.Errorf("sub-clients left behind: %+v", c)
	}
}

// TestCallsCancelledWhenClientLeaves: the client goes while its calls run
// (one answered, one mid-body, one still dialing): every call's upstream
// connection in flight is closed, no sub-client is left, nothing is
// written to the parent, and what arrives later goes nowhere.
func TestCallsCancelledWhenClientLeaves(t *testing.T) {
	r := newRig(t, callConfig)
	cl := r.client("203.0.113.9")
	cl.send("GET /fan HTTP/1.1\r\nHost: gw.test\r\nX-Calls: up /a, up /b, up /c\r\nX-Limit: 100\r\n\r\n")
	r.run()
	a, b := r.dial(), r.dial()
	a.reply("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na")
	b.reply("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nbb")
	r.run()
	cl.s.closed = true
	cl.h.Closed()
	cl.h.Teardown()
	r.run()
	if !b.s.closed {
		t.Error("the call mid-body kept its upstream connection")
	}
	if a.s.closed {
		t.Error("the answered call's clean connection was closed, not pooled")
	}
	c := r.dial() // the third call's dial completes after the client left
	c.c.takeOut()
	b.reply("bbbbbbb")
	r.run()
	if out := cl.c.takeOut(); out != "" {
		t.Errorf("written to the client that left: %q", out)
	}
	if n := r.w.Census().Clients; n != 0 {
		t.Errorf("%d clients left on the loop", n)
	}
	if out := c.c.takeOut(); out != "" {
		t.Errorf("a cancelled call sent a request: %q", out)
	}
}
