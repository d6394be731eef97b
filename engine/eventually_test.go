package engine

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// The engine tests wait for conditions, never for a guessed duration: a
// sleep long enough on an idle laptop is too short on a loaded 2-core CI
// runner under -race, and too long everywhere else. waitUntil and eventually
// are the one way to wait; a time.Sleep left in a test is part of the
// scenario (a slow upstream, a client pacing its bytes, an idle gap), not a
// synchronisation.

// waitPollMax caps the poll interval: the first polls come quickly, so a
// condition that is already true or becomes true soon costs next to nothing.
const waitPollMax = 20 * time.Millisecond

// waitUntil polls cond until it holds or limit has passed, and reports how
// long it took and whether it held. It never fails a test, so it may run on
// any goroutine (an upstream handler, a client goroutine).
func waitUntil(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	poll := time.Millisecond
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		<-time.After(poll)
		poll = min(2*poll, waitPollMax)
	}
}

// eventually fails the test unless cond holds within limit; what names the
// condition in the failure. Test goroutine only (it calls t.Fatalf).
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	if _, ok := waitUntil(limit, cond); !ok {
		t.Fatalf("timed out after %v waiting for %s", limit, what)
	}
}

// onEveryLoop runs fn on each of the gateway's event loops in turn and waits
// for it: the way a test reads loop-owned state. Loops are created as gnet
// first uses them, so a loop that never served a connection is not visited.
// Test goroutine only.
func onEveryLoop(t *testing.T, g *gateway, fn func(lp *loop)) {
	t.Helper()
	var loops []*loop
	g.e.loops.Range(func(_, v any) bool { loops = append(loops, v.(*loop)); return true })
	for _, lp := range loops {
		runOnLoop(t, lp, fn)
	}
}

// runOnLoop runs fn on lp and waits for it (at most 5 s). Test goroutine
// only.
func runOnLoop(t *testing.T, lp *loop, fn func(lp *loop)) {
	t.Helper()
	done := make(chan struct{})
	if err := lp.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		fn(lp)
		close(done)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("loop callback did not run")
	}
}

// parkedExchanges counts the requests parked by a filter, all loops
// together. Test goroutine only.
func parkedExchanges(t *testing.T, g *gateway) int {
	t.Helper()
	n := 0
	onEveryLoop(t, g, func(lp *loop) { n += lp.w.Census().Parked })
	return n
}

// idleUpstreams counts the idle pooled upstream connections, all loops and
// targets together. Test goroutine only.
func idleUpstreams(t *testing.T, g *gateway) int {
	t.Helper()
	n := 0
	onEveryLoop(t, g, func(lp *loop) { n += lp.w.Census().IdleUpstreams })
	return n
}

// tcpState returns the kernel's state of the TCP socket from local to remote,
// as /proc/net/tcp writes it ("01" established, "08" close-wait: the peer's
// FIN arrived), or "" when no such socket is listed (closed, or reset).
// Any goroutine; it fails only through t.Fatal on the test goroutine.
func tcpState(t *testing.T, local, remote net.Addr) string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatalf("reading socket states: %v", err)
	}
	want := procAddr(local) + " " + procAddr(remote)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1]+" "+f[2] == want {
			return f[3]
		}
	}
	return ""
}

// procAddr writes an IPv4 TCP address as /proc/net/tcp does: the address as
// a little-endian 32-bit hex number, a colon, the port in hex.
func procAddr(a net.Addr) string {
	ta := a.(*net.TCPAddr)
	ip := ta.IP.To4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ta.Port)
}
