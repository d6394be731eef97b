package proxy

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/upstream"
)

// Proxy is the state every loop shares: the serving snapshot, the coarse
// clock, the drain flag. Create with New; one Worker per event loop does
// the work.
type Proxy struct {
	snap     atomic.Pointer[pipeline.Snapshot]
	now      atomic.Int64 // unix nanos, advanced by Tick
	draining atomic.Bool
	streams  atomic.Int64 // bodies moved off the loop so far (see stream.go)
	idSeed   uint64
}

// New returns a proxy serving snap, its clock set to now.
func New(snap *pipeline.Snapshot) *Proxy {
	p := &Proxy{idSeed: newIDSeed()}
	p.snap.Store(snap)
	p.now.Store(time.Now().UnixNano())
	return p
}

// Swap installs a new snapshot; requests already routed finish on the old
// one. The transport then has each Worker retire the pools the new one
// does not use (RetirePools). Any goroutine.
func (e *Proxy) Swap(s *pipeline.Snapshot) { e.snap.Store(s) }

// Snapshot returns the snapshot new requests are routed with. Any goroutine.
func (e *Proxy) Snapshot() *pipeline.Snapshot { return e.snap.Load() }

// Tick sets the coarse clock (unix nanos) every deadline is measured on;
// the transport calls it on its timer, a test whenever it likes. The clock
// only moves forward. Any goroutine.
func (e *Proxy) Tick(now int64) {
	for {
		old := e.now.Load()
		if now <= old || e.now.CompareAndSwap(old, now) {
			return
		}
	}
}

// clock returns the coarse time in unix nanos. Any goroutine.
func (e *Proxy) clock() int64 { return e.now.Load() }

// Drain starts the graceful stop: idle connections close at the next
// sweep, responses say Connection: close, new connections are refused. It
// reports false when the drain had begun already. Any goroutine.
func (e *Proxy) Drain() bool { return e.draining.CompareAndSwap(false, true) }

// Draining reports whether Drain was called. Any goroutine.
func (e *Proxy) Draining() bool { return e.draining.Load() }

// Streams reports how many bodies have been moved off the loop because
// their reader was slower than their sender. Any goroutine.
func (e *Proxy) Streams() int64 { return e.streams.Load() }

// Worker is the proxy's state on one event loop: its client connections
// (for the deadline sweep), its upstream keep-alive pools and its free
// lists. Only the owning loop touches it, so it needs no lock.
type Worker struct {
	e    *Proxy
	loop Loop
	idx  int

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

	iov    [][]byte // scratch for writev
	out    []byte   // scratch for response heads; written at once, the transport copies what is left
	reqSeq uint64   // request-ID counter

	// poolsSnap is the snapshot the pools were last checked against by
	// RetirePools (retire.go).
	poolsSnap *pipeline.Snapshot
}

// NewWorker returns the proxy's state for the event loop l, the idx-th
// (request IDs carry it). Any goroutine; the Worker is l's from then on.
func (e *Proxy) NewWorker(l Loop, idx int) *Worker {
	return &Worker{e: e, loop: l, idx: idx, pools: make(map[*upstream.Target]*pool), iov: make([][]byte, 0, 2), poolsSnap: e.Snapshot()}
}

// Admission is the transport's verdict on a connection it just accepted.
type Admission uint8

const (
	// Admitted: serve it.
	Admitted Admission = iota
	// Full: a connection cap is reached; its first answer is a 503 "too
	// many connections", then it closes.
	Full
	// Late: accepted during the drain; its first request gets a 503
	// "draining" (drainrefuse.go).
	Late
)

// Downstream is a client connection as the transport drives it.
type Downstream interface {
	Reattacher
}

// Accept adopts a client connection from peer addr (invalid when not
// TCP): c is its data side, s the transport's handle. The transport has
// already made the returned Handler the connection's (a refusal writes, and
// a failed write closes it at once) through bind. Loop only.
func (lp *Worker) Accept(c Conn, s Socket, addr netip.Addr, a Admission, bind func(Downstream)) {
	cl := &client{lp: lp, c: c, sock: s, state: csIdle, addr: addr}
	if addr.IsValid() {
		cl.ip = []byte(addr.String())
	}
	cl.deadline = lp.e.clock() + int64(lp.e.Snapshot().IdleTimeout)
	bind(cl)
	lp.clients.push(cl)
	switch a {
	case Late:
		cl.acceptedLate()
	case Full:
		cl.refuse(errTooManyConns)
	}
}

// pool returns this loop's idle pool for t. Loop only.
func (lp *Worker) pool(t *upstream.Target) *pool {
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

// Sweep enforces every deadline of this loop: header and idle timeouts of
// clients, upstream response timeouts, lingering closes, idle pool expiry,
// and the drain. The transport calls it every tick. Loop only.
func (lp *Worker) Sweep() {
	lp.RetirePools()
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
func (lp *Worker) writeFrame(c Conn, head []byte, f http1.Frame) {
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
