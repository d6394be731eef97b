package filter

import (
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

type verdictFilter func(x *Exchange) Verdict

func (f verdictFilter) Request(x *Exchange) Verdict { return f(x) }

// TestReplyIsNotARejection: sluice_middleware_rejections_total counts
// Reject, not a filter's Reply (a preflight answered is not a request
// refused).
func TestReplyIsNotARejection(t *testing.T) {
	reply := NewChain(verdictFilter(func(x *Exchange) Verdict { return x.Reply(204, nil, nil) }))
	reply.Label(0, "edge_reply", "test")
	reject := NewChain(verdictFilter(func(x *Exchange) Verdict { return x.Reject(403, "Forbidden") }))
	reject.Label(0, "edge_reject", "test")
	var x Exchange
	for range 3 {
		x.Reset(nil)
		if v, _ := reply.Run(&x, 0); v != Respond {
			t.Fatalf("reply verdict %v", v)
		}
		if _, _, ok := x.LocalReply(); !ok || x.Status != 204 {
			t.Fatalf("LocalReply ok=%v status %d", ok, x.Status)
		}
		x.Reset(nil)
		reject.Run(&x, 0)
		if _, _, ok := x.LocalReply(); ok {
			t.Fatal("a Reject reads as a Reply")
		}
	}
	if n := metrics.GetOrCreateCounter(`sluice_middleware_rejections_total{route="",middleware="edge_reject",type="test",status="403",reason="Forbidden"}`).Get(); n != 3 {
		t.Errorf("rejections %d, want 3", n)
	}
	if n := metrics.GetOrCreateCounter(`sluice_middleware_rejections_total{route="",middleware="edge_reply",type="test",status="204",reason=""}`).Get(); n != 0 {
		t.Errorf("replies counted as rejections: %d", n)
	}
}

// TestStateSlotPerFilter: each filter gets its own slot, kept across runs
// of the chain for one request (a resume) and cleared by Reset.
func TestStateSlotPerFilter(t *testing.T) {
	var seen [2]uint64
	mk := func(i int) Filter {
		return verdictFilter(func(x *Exchange) Verdict {
			s := x.State()
			s.N += uint64(i + 1)
			seen[i] = s.N
			return Continue
		})
	}
	c := NewChain(mk(0), mk(1))
	var x Exchange
	x.Reset(nil)
	c.Run(&x, 0)
	c.Run(&x, 0) // as a resumed chain does
	if seen != [2]uint64{2, 4} {
		t.Fatalf("slots %v, want [2 4]", seen)
	}
	x.Reset(nil)
	c.Run(&x, 0)
	if seen != [2]uint64{1, 2} {
		t.Fatalf("after Reset, slots %v, want [1 2]", seen)
	}
	if n := testing.AllocsPerRun(100, func() { x.Reset(nil); c.Run(&x, 0) }); n != 0 {
		t.Errorf("%v allocs per request, want 0", n)
	}
}
