package engine

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/proxy"
)

// loop is the transport's state for one gnet event loop, and the
// proxy.Loop its Worker runs on. Only the owning loop touches it, but
// Execute, Dial and the upstream counts are for any goroutine.
type loop struct {
	e  *Engine
	el gnet.EventLoop
	w  *proxy.Worker

	sweeper gnet.RunnableFunc // w.Sweep, for Execute
	retirer gnet.RunnableFunc // w.RetirePools, for Execute

	depth int     // nesting of our event handlers on this loop
	dead  []*sock // connections gnet closed during an event, torn down after it
}

func newLoop(e *Engine, el gnet.EventLoop, idx int) *loop {
	lp := &loop{e: e, el: el}
	lp.w = e.px.NewWorker(lp, idx)
	lp.sweeper = lp.runnable(lp.w.Sweep)
	lp.retirer = lp.runnable(lp.w.RetirePools)
	return lp
}

// runnable wraps fn for Execute, bracketed like every entry from gnet.
func (lp *loop) runnable(fn func()) gnet.RunnableFunc {
	return func(context.Context) error {
		lp.enter()
		fn()
		lp.leave()
		return nil
	}
}

// enter and leave bracket every entry from gnet into our code (traffic,
// open, close, Execute). Connections that gnet closes inside them, which
// happens synchronously inside a failed Write, are torn down at the
// outermost leave, so no handler ever continues on state that a nested
// close released.
func (lp *loop) enter() { lp.depth++ }

func (lp *loop) leave() {
	if lp.depth--; lp.depth > 0 {
		return
	}
	for len(lp.dead) > 0 {
		x := lp.dead[0]
		lp.dead[0] = nil
		lp.dead = lp.dead[1:]
		lp.depth++
		x.h.Teardown()
		lp.depth--
	}
	lp.dead = lp.dead[:0]
}

// closed runs in OnClose, inside enter/leave, for a socket gnet closed:
// its handler hears of it now and is torn down at the outermost leave.
// Loop only.
func (lp *loop) closed(s *sock) {
	s.h.Closed()
	lp.dead = append(lp.dead, s)
}

// newClient adopts an accepted connection: it is counted, checked against
// the connection caps (connlimit.go) and the drain, and handed to the
// proxy with the verdict. Loop only.
func (lp *loop) newClient(c gnet.Conn) {
	s := &sock{lp: lp, c: c, client: true, addr: addrOf(c)}
	c.SetContext(s)
	lp.e.clients.Add(1)
	observe.ClientConnections.Inc()
	verdict := proxy.Admitted
	switch {
	case lp.e.px.Draining():
		observe.ClientRefusedDraining.Inc()
		verdict = proxy.Late
	case !lp.admit(s):
		verdict = proxy.Full
	default:
		observe.ClientAccepted.Inc()
	}
	lp.w.Accept(c, s, s.addr, verdict, func(h proxy.Downstream) { s.h = h })
}

// Execute implements proxy.Loop. Any goroutine.
func (lp *loop) Execute(fn func()) error {
	return lp.el.Execute(context.Background(), lp.runnable(fn))
}

// Dial implements proxy.Loop: a blocking dial with timeout on a goroutine,
// then Enroll onto this loop. The pairing finishes in OnOpen, never by
// waiting here: waiting on Enroll's channel inside a callback would
// deadlock the loop. Loop only.
func (lp *loop) Dial(addr string, timeout time.Duration, d proxy.Dialing) {
	s := &sock{lp: lp, h: d, dialing: d}
	go func() {
		dl := net.Dialer{Timeout: timeout}
		nc, err := dl.Dial("tcp", addr)
		if err == nil {
			ctx := gnet.NewContext(context.Background(), s)
			var res <-chan gnet.RegisteredResult
			if res, err = lp.el.Enroll(ctx, nc); err == nil {
				if r := <-res; r.Err == nil {
					return // OnOpen takes it from here
				} else {
					err = r.Err
				}
			} else {
				_ = nc.Close()
			}
		}
		_ = lp.Execute(func() { d.DialFailed(err) })
	}()
}

// OpenUpstream implements proxy.Loop. Any goroutine.
func (lp *loop) OpenUpstream() bool { return lp.e.caps.openUpstream(lp.e.fdBudget) }

// HoldUpstream implements proxy.Loop. Any goroutine.
func (lp *loop) HoldUpstream() { lp.e.caps.holdUpstream() }

// CloseUpstream implements proxy.Loop. Any goroutine.
func (lp *loop) CloseUpstream() { lp.e.caps.closeUpstream() }

// addrOf is the peer address of c, invalid when it is not TCP.
func addrOf(c gnet.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
