package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/sluicehq/sluice/observe"
)

// TestDescriptorBudget: the budget is the descriptor limit less the
// reserve, and it is shared by clients and upstream connections, so idle
// keep-alive clients can use all of it.
func TestDescriptorBudget(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{
		{1024, 32}, // tiny limits still admit a few
		{20000, 20000 - fdReserve},
		{1 << 20, 1<<20 - fdReserve},
		{1 << 62, 1<<30 - fdReserve}, // "unlimited" stays an int
	} {
		if got := budgetFor(tc.nofile); got != tc.want {
			t.Errorf("budgetFor(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
	if fdBudget() <= 0 {
		t.Errorf("no descriptor budget on this machine")
	}

	var k connCaps
	a := netip.MustParseAddr("10.0.0.1")
	const budget = 4
	for i := range budget { // idle clients fill the whole budget, not half of it
		if got := k.admit(a, 0, 0, budget); got != admitted {
			t.Fatalf("client %d of %d refused (%d)", i+1, budget, got)
		}
	}
	if k.openUpstream(budget) {
		t.Fatalf("an upstream connection past the budget was allowed")
	}
	k.release(a)
	if !k.openUpstream(budget) {
		t.Fatalf("the descriptor a client freed was not available upstream")
	}
	if got := k.admit(a, 0, 0, budget); got != refusedMax {
		t.Fatalf("a client past the budget (3 clients + 1 upstream) was admitted (%d)", got)
	}
	if got := k.admit(a, 0, 0, 0); got != admitted {
		t.Fatalf("an unknown budget (0) refused a client (%d)", got)
	}
	k.closeUpstream()
	if k.upstream.Load() != 0 || k.total.Load() != 4 {
		t.Fatalf("counts: upstream %d, clients %d", k.upstream.Load(), k.total.Load())
	}
}

// TestDescriptorBudgetEndToEnd: with a budget of 3 descriptors, three idle
// keep-alive clients are all admitted (they hold no upstream connection);
// a request that then needs an upstream connection gets a 503 that keeps
// the client, and succeeds once another client leaves; a fourth client is
// refused at accept.
func TestDescriptorBudgetEndToEnd(t *testing.T) {
	u := hcStartUpstream(t)
	g := startGatewayWith(t, hcConfig(u, ""), Options{Loops: 1}, func(e *Engine) { e.fdBudget = 3 })
	refused0 := observe.UpstreamRefusedFD.Get()
	a, b, c := dialRaw(t, g.addr), dialRaw(t, g.addr), dialRaw(t, g.addr)
	_ = b
	if !hcWait(2*time.Second, func() bool { return g.e.clients.Load() == 3 }) {
		t.Fatalf("3 idle clients within a budget of 3: %d open", g.e.clients.Load())
	}

	c.request("GET", "/ok/x", "full", "")
	resp, body := c.readResponse("GET")
	expectGatewayError(t, resp, body, 503, "too many connections", "full", false)
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	if got := observe.UpstreamRefusedFD.Get() - refused0; got != 1 {
		t.Errorf("sluice_upstream_connections_refused_total moved by %d, want 1", got)
	}

	a.Close()
	if !hcWait(2*time.Second, func() bool { return g.e.clients.Load() == 2 }) {
		t.Fatalf("a closed client is still counted")
	}
	c.request("GET", "/ok/x", "room", "")
	c.expectOwn("GET", "room") // same connection: the 503 kept it

	hcExpectRefused(dialRaw(t, g.addr)) // 3 clients + 1 upstream connection
}
