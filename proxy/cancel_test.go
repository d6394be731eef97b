package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// parkFilter parks every request once (its resume in parkResume) and
// records each Cancel with the state it kept.
type parkFilter struct{}

var (
	parkResume func()
	cancels    []uint64
)

func (parkFilter) Request(x *filter.Exchange) filter.Verdict {
	st := x.State()
	if st.N != 0 {
		return filter.Continue // resumed
	}
	st.N = 7 // what the filter learnt before the pause
	parkResume = x.Park(time.Second, "lookup timed out")
	return filter.Pause
}

func (parkFilter) Cancel(x *filter.Exchange) {
	if x.Req != nil {
		panic("Cancel saw the request's views, which are gone")
	}
	cancels = append(cancels, x.State().N)
}

func init() {
	filter.Register(filter.Type{Name: "test_park", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) { return parkFilter{}, nil }})
}

var parkConfig = strings.Replace(timeoutConfig, "routes:\n",
	"middleware:\n  park: {type: test_park}\nroutes:\n  - name: park\n    match: {path: /p/*}\n    cluster: up\n    middleware: [park]\n", 1)

// TestCancelPhase: the filter that paused a request hears Cancel, with its
// state, exactly once when the request ends unresumed (the client left, or
// the park timed out, before the 503 goes out), and never when it resumed
// the request itself; a resume after Cancel does nothing.
func TestCancelPhase(t *testing.T) {
	const req = "GET /p/x HTTP/1.1\r\nHost: a\r\n\r\n"
	setup := func(t *testing.T) (*rig, *memClient) {
		parkResume, cancels = nil, nil
		r := newRig(t, parkConfig)
		cl := r.client("203.0.113.9")
		cl.send(req)
		if parkResume == nil || len(r.lp.dials) > 0 {
			t.Fatalf("not parked: resume %v, dials %d", parkResume != nil, len(r.lp.dials))
		}
		return r, cl
	}
	t.Run("resumed", func(t *testing.T) {
		r, _ := setup(t)
		parkResume()
		r.runQueued()
		r.dial()
		if len(cancels) != 0 {
			t.Errorf("Cancel ran %v for a request the filter resumed", cancels)
		}
	})
	t.Run("client left", func(t *testing.T) {
		r, cl := setup(t)
		cl.s.closed = true
		cl.h.Closed()
		cl.h.Teardown()
		if len(cancels) != 1 || cancels[0] != 7 {
			t.Fatalf("cancels %v, want one with the filter's state 7", cancels)
		}
		parkResume()
		r.runQueued()
		r.advance(2 * time.Second)
		if len(cancels) != 1 || len(r.lp.dials) > 0 {
			t.Errorf("after a late resume: cancels %v, dials %d", cancels, len(r.lp.dials))
		}
	})
	t.Run("timed out", func(t *testing.T) {
		r, cl := setup(t)
		r.advance(2 * time.Second)
		if len(cancels) != 1 || cancels[0] != 7 {
			t.Fatalf("cancels %v, want one with the filter's state 7", cancels)
		}
		if out := cl.c.takeOut(); !strings.HasPrefix(out, "HTTP/1.1 503 ") || !strings.Contains(out, `"error":"lookup timed out"`) {
			t.Errorf("client got:\n%s", lines(out))
		}
		parkResume()
		r.runQueued()
		if len(cancels) != 1 || len(r.lp.dials) > 0 {
			t.Errorf("after a late resume: cancels %v, dials %d", cancels, len(r.lp.dials))
		}
	})
}
