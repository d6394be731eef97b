package engine

import (
	"context"
	"net"

	"github.com/panjf2000/gnet/v2"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/upstream"
)

// loop is the state one event loop owns: its client connections (for the
// deadline sweep), its upstream keep-alive pools and its free lists. Only the
// owning loop touches it, so it needs no lock.
type loop struct {
	e   *Engine
	el  gnet.EventLoop
	idx int

	clients clientList
	pools   map[*upstream.Target]*pool
	free    []*exchange
	// A request's parsed views, normalised path and route params live only
	// until its head is copied upstream, within one callback: one set per
	// loop serves every connection, and an idle connection carries none.
	req    http1.Request
	norm   []byte
	params router.Params
	// logQuery holds the redacted query of a refused request's access-log
	// line while it is formatted (logRefused).
	logQuery []byte

	iov     [][]byte // scratch for writev
	out     []byte   // scratch for response heads; written at once, gnet copies what is left
	reqSeq  uint64   // request-ID counter
	sweeper gnet.RunnableFunc
	retirer gnet.RunnableFunc // retirePools, for Execute

	// poolsSnap is the snapshot the pools were last checked against by
	// retirePools (retire.go).
	poolsSnap *pipeline.Snapshot

	depth int          // nesting of our event handlers on this loop
	dead  []teardowner // connections gnet closed during an event, torn down after it
}

// teardowner is a connection whose teardown can wait for the end of an event.
type teardowner interface{ teardown() }

// enter and leave bracket every entry from gnet into our code (traffic,
// open, Execute). Connections that gnet closes inside them, which happens
// synchronously inside a failed Write, are torn down at the outermost leave,
// so no handler ever continues on state that a nested close released.
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
		x.teardown()
		lp.depth--
	}
	lp.dead = lp.dead[:0]
}

// afterEvent tears x down now, or after the current event. Loop only.
func (lp *loop) afterEvent(x teardowner) {
	if lp.depth == 0 {
		x.teardown()
		return
	}
	lp.dead = append(lp.dead, x)
}

func newLoop(e *Engine, el gnet.EventLoop, idx int) *loop {
	lp := &loop{e: e, el: el, idx: idx, pools: make(map[*upstream.Target]*pool), iov: make([][]byte, 0, 2)}
	lp.sweeper = func(context.Context) error {
		lp.enter()
		lp.sweep()
		lp.leave()
		return nil
	}
	lp.retirer = lp.newRetirer()
	lp.poolsSnap = e.Snapshot()
	return lp
}

// newClient adopts an accepted connection, or refuses it with a 503 when a
// connection cap is reached (connlimit.go) or the engine is draining.
// Loop only.
func (lp *loop) newClient(c gnet.Conn) {
	cl := &client{lp: lp, c: c, state: csIdle}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		cl.addr = a.AddrPort().Addr().Unmap()
		cl.ip = []byte(cl.addr.String())
	}
	cl.deadline = lp.e.clock() + int64(lp.e.Snapshot().IdleTimeout)
	c.SetContext(cl)
	lp.clients.push(cl)
	lp.e.clients.Add(1)
	observe.ClientConnections.Inc()
	switch {
	case lp.e.draining.Load():
		cl.acceptedLate()
	case cl.admit():
		observe.ClientAccepted.Inc()
	}
}

// pool returns this loop's idle pool for t. Loop only.
func (lp *loop) pool(t *upstream.Target) *pool {
	p := lp.pools[t]
	if p == nil {
		p = &pool{lp: lp, target: t, m: observe.NewClusterMetrics(t.Cluster.Name), tm: observe.NewTargetMetrics(t.Cluster.Name, t.Addr)}
		// A request routed on a replaced snapshot (a retry, say) may reach
		// a target after its pools were retired: its pool is born retired.
		p.retired = !serves(lp.e.Snapshot(), t)
		lp.pools[t] = p
	}
	return p
}

// sweep enforces every deadline of this loop: header and idle timeouts of
// clients, upstream response timeouts, lingering closes, idle pool expiry,
// and the drain. Loop only.
func (lp *loop) sweep() {
	lp.retirePools()
	now := lp.e.clock()
	draining := lp.e.draining.Load()
	for cl := lp.clients.head; cl != nil; {
		next := cl.next // cl may unlink itself
		cl.sweep(now, draining)
		cl = next
	}
	for t, p := range lp.pools {
		p.sweep(now, draining)
		p.publish()
		if len(p.idle) == 0 && p.dialing == 0 && p.busy == 0 {
			delete(lp.pools, t) // forget targets of old snapshots
		}
	}
}

// writeFrame writes head (may be empty) and a body frame with one syscall.
// Loop only.
func (lp *loop) writeFrame(c gnet.Conn, head []byte, f http1.Frame) {
	lp.iov = lp.iov[:0]
	for _, b := range [...][]byte{head, f.Pre, f.Data, f.Post} {
		if len(b) > 0 {
			lp.iov = append(lp.iov, b)
		}
	}
	switch len(lp.iov) {
	case 0:
	case 1:
		_, _ = c.Write(lp.iov[0])
	default:
		_, _ = c.Writev(lp.iov)
	}
	clear(lp.iov)
}

// clientList is an intrusive doubly linked list of a loop's clients.
type clientList struct{ head *client }

func (l *clientList) push(cl *client) {
	cl.next = l.head
	if l.head != nil {
		l.head.prev = cl
	}
	l.head = cl
}

func (l *clientList) remove(cl *client) {
	if cl.prev != nil {
		cl.prev.next = cl.next
	} else if l.head == cl {
		l.head = cl.next
	}
	if cl.next != nil {
		cl.next.prev = cl.prev
	}
	cl.prev, cl.next = nil, nil
}
