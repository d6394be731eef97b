package engine

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// stateFilter keeps what it learnt in its State slot across a Pause: the
// first run parks with its own timeout and message (and resumes after
// X-Work milliseconds unless X-Work is "never"); the resumed run finds the
// slot filled and continues; its response phase reports the slot.
type stateFilter struct{ parks atomic.Int64 }

const stateTimeoutMsg = "lookup service did not answer"

func (f *stateFilter) Request(x *filter.Exchange) filter.Verdict {
	s := x.State()
	work := x.Req.Header("X-Work")
	if work == nil {
		return filter.Continue
	}
	if s.N > 0 { // resumed: the slot kept what the first run learnt
		x.AddUpstreamHeader("X-State", []byte(s.V.(string)))
		return filter.Continue
	}
	s.N++
	s.V = "parked-" + string(work) // a copy: request views die with the callback
	f.parks.Add(1)
	resume := x.Park(300*time.Millisecond, stateTimeoutMsg)
	if string(work) != "never" {
		ms, _ := strconv.Atoi(string(work))
		time.AfterFunc(time.Duration(ms)*time.Millisecond, resume)
	}
	return filter.Pause
}

func (f *stateFilter) ResponseHead(x *filter.Exchange, r *filter.Response) filter.Verdict {
	r.Set("X-Slot", strconv.AppendUint(nil, x.State().N, 10))
	return filter.Continue
}

var stateFilterInstance = &stateFilter{}

func init() {
	filter.Register(filter.Type{Name: "test_state", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) { return stateFilterInstance, nil }})
}

// TestParkedFilterKeepsStateAndOwnTimeout: a filter's slot survives its
// Pause and is empty again for the next request on the same connection;
// unresumed, the request ends at the filter's own timeout (300 ms, not
// the engine's 10 s) with the filter's own message.
func TestParkedFilterKeepsStateAndOwnTimeout(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "middleware:\n  st: {type: test_state}\n",
		"  - name: st\n    match: {path: /*}\n    cluster: up\n    middleware: [st]\n"), 1)
	before := stateFilterInstance.parks.Load()
	c := dialRaw(t, g.addr)
	for i, work := range []string{"20", "40"} {
		c.send("GET /x HTTP/1.1\r\nHost: a\r\nX-Work: " + work + "\r\n\r\n")
		resp, body := c.readResponse("GET")
		if resp.StatusCode != 200 || !strings.Contains(body, `"X-State":"parked-`+work+`"`) {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Slot") != "1" {
			t.Fatalf("request %d: response phase saw slot %q, want 1 (reset per request)", i, resp.Header.Get("X-Slot"))
		}
	}
	if n := stateFilterInstance.parks.Load() - before; n != 2 {
		t.Fatalf("%d parks, want one per request", n)
	}

	start := time.Now()
	c.send("GET /x HTTP/1.1\r\nHost: a\r\nX-Work: never\r\n\r\n")
	resp, body := c.readResponse("GET")
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"error":"`+stateTimeoutMsg+`"`) {
		t.Fatalf("unresumed: %d %q", resp.StatusCode, body)
	}
	// The sweep runs on a coarse clock (50 ms ticks): about 300 ms, far
	// from the engine's default 10 s.
	if took < 200*time.Millisecond || took > 5*time.Second {
		t.Fatalf("answered after %v, want the filter's 300ms timeout", took)
	}
	// The parked filter did not continue, so its response phase does not
	// run on the 503 (only filters before it would).
	if v, ok := resp.Header["X-Slot"]; ok {
		t.Errorf("response phase ran for the filter that never continued: X-Slot %q", v)
	}
}
