package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/proxy"
)

// Options tune the engine. The zero value of each field picks the default
// named in its comment.
type Options struct {
	Listen       string        // host:port; required
	Loops        int           // event loops; 0 = GOMAXPROCS
	ReusePort    bool          // one SO_REUSEPORT listener per loop
	LockOSThread bool          // pin each loop to an OS thread
	ReadBuffer   int           // per-loop read buffer; 0 = 64 KiB
	WriteBuffer  int           // socket send buffer; 0 = kernel default
	DrainTimeout time.Duration // graceful stop budget; 0 = 30s
	Logger       *slog.Logger  // nil = slog.Default()
}

// tick is how often deadlines are swept and the coarse clock advances; it is
// the resolution of every timeout.
const tick = 50 * time.Millisecond

// Engine is a running gateway listener. Create with New, start with Serve.
type Engine struct {
	gnet.BuiltinEventEngine

	opts Options
	log  *slog.Logger
	px   *proxy.Proxy // the exchange: snapshot, clock, drain flag

	eng      gnet.Engine
	booted   chan struct{}
	served   chan struct{} // closed when Serve returns
	loops    sync.Map      // gnet.EventLoop -> *loop
	loopSeq  atomic.Int32
	clients  atomic.Int64 // open client connections
	caps     connCaps     // limits.max_connections and _per_ip counts
	fdBudget int          // client + upstream connections the descriptor limit carries (connlimit.go); 0 = unknown
}

// New returns an engine serving snap.
func New(opts Options, snap *pipeline.Snapshot) *Engine {
	if opts.Loops <= 0 {
		opts.Loops = runtime.GOMAXPROCS(0)
	}
	if opts.ReadBuffer <= 0 {
		opts.ReadBuffer = 64 << 10
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{opts: opts, log: opts.Logger, px: proxy.New(snap), booted: make(chan struct{}), served: make(chan struct{})}
	e.fdBudget = fdBudget()
	return e
}

// Swap installs a new snapshot; requests already routed finish on the old
// one. The keep-alive connections to targets the new snapshot does not use
// are closed on their loops, idle ones at once, busy ones when their
// exchange ends (proxy's retire.go). Any goroutine.
func (e *Engine) Swap(s *pipeline.Snapshot) {
	e.px.Swap(s)
	e.loops.Range(func(_, v any) bool {
		lp := v.(*loop)
		_ = lp.el.Execute(context.Background(), lp.retirer)
		return true
	})
}

// Snapshot returns the snapshot new requests are routed with. Any goroutine.
func (e *Engine) Snapshot() *pipeline.Snapshot { return e.px.Snapshot() }

// Serve runs the event loops until Shutdown; it blocks. Any goroutine.
func (e *Engine) Serve() error {
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(e.opts.Loops),
		gnet.WithReusePort(e.opts.ReusePort),
		gnet.WithReuseAddr(true),
		gnet.WithLockOSThread(e.opts.LockOSThread),
		gnet.WithReadBufferCap(e.opts.ReadBuffer),
		gnet.WithTicker(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLog{e.log}),
	}
	// gnet's start-up banner goes to its package-level logger, not the option.
	logging.SetDefaultLoggerAndFlusher(gnetLog{e.log}, nil)
	if e.opts.WriteBuffer > 0 {
		opts = append(opts, gnet.WithSocketSendBuffer(e.opts.WriteBuffer))
	}
	stopReclaim := make(chan struct{})
	go e.reclaimer(stopReclaim) // reclaim.go
	err := gnet.Run(e, "tcp://"+e.opts.Listen, opts...)
	close(stopReclaim)
	close(e.served)
	if err != nil {
		select {
		case <-e.booted:
		default:
			close(e.booted) // unblock Ready waiters on a failed start
		}
	}
	return err
}

// Ready blocks until the listener accepts connections or ctx ends.
func (e *Engine) Ready(ctx context.Context) error {
	select {
	case <-e.booted:
		if err := e.eng.Validate(); err != nil {
			return fmt.Errorf("engine did not start: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Draining reports whether a graceful stop has begun. Any goroutine.
func (e *Engine) Draining() bool { return e.px.Draining() }

// Shutdown stops taking new work, lets requests in flight finish within the
// drain timeout (or ctx, whichever ends first), then stops the loops.
// Any goroutine.
//
// Closing the listener first would be the cleanest refusal (a load balancer
// gets ECONNREFUSED at once and retries elsewhere), but gnet v2.9.7 has no
// call that closes its listeners and keeps the loops running (Engine offers
// Stop, which ends both, and Dup, whose copy's close leaves the listener
// open; gnet issue #52 asked for a listener shutdown), and the way around it
// from outside breaks gnet: a shutdown(2) of the listening socket through a
// Dup stops it listening, the listener then polls readable, and accept(2)
// fails with EINVAL, an error gnet's acceptor treats as fatal: it stops
// every loop with the requests on them (tried against v2.9.7: new dials got
// ECONNREFUSED, and the engine shut down a millisecond later). So the listener stays open during the drain and a
// connection accepted then is answered at once: 503 with Retry-After: 1,
// Connection: close and the JSON error "draining", after which it lingers
// like any closing connection, so a request the client sent meanwhile does
// not turn the close into a reset that destroys the answer (closing such a
// connection unread, as before issue 12, reset thousands of them). The
// drain waits for the connections carrying requests, not for these.
func (e *Engine) Shutdown(ctx context.Context) error {
	if !e.px.Drain() {
		return errors.New("engine: already shutting down")
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.DrainTimeout)
	defer cancel()
	e.sweepAll() // close idle keep-alive connections now, not a tick later
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	drained := true
wait:
	for e.serving() > 0 {
		select {
		case <-ctx.Done():
			drained = false
			break wait
		case <-t.C:
		}
	}
	if !drained {
		e.log.Warn("drain timeout: closing connections with requests in flight", "open", e.serving())
	}
	// gnet's Stop polls for the end of the loops every 500 ms; Serve returns
	// as soon as they end, so wait for that instead.
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.eng.Stop(stopCtx) }()
	select {
	case <-e.served:
		return nil
	case err := <-stopped:
		return err
	}
}

// serving counts the open client connections the drain waits for: all but
// those refused at accept, which only linger after their 503. (A refused
// connection is counted in clients before it is counted as lingering, and
// leaves lingering first, so this never reads low.) Any goroutine.
func (e *Engine) serving() int64 { return e.clients.Load() - e.caps.lingering.Load() }

// OnBoot records the gnet engine. gnet calls it once.
func (e *Engine) OnBoot(eng gnet.Engine) gnet.Action {
	e.eng = eng
	close(e.booted)
	return gnet.None
}

// OnTick advances the coarse clock and asks each loop to sweep its deadlines.
// It runs on gnet's ticker goroutine, so it touches no loop state itself.
func (e *Engine) OnTick() (time.Duration, gnet.Action) {
	e.px.Tick(time.Now().UnixNano())
	e.sweepAll()
	return tick, gnet.None
}

func (e *Engine) sweepAll() {
	e.loops.Range(func(_, v any) bool {
		lp := v.(*loop)
		_ = lp.el.Execute(context.Background(), lp.sweeper)
		return true
	})
}

// loopOf returns the per-loop state for el, creating it on first sight.
// Each loop calls this for its own connections only.
func (e *Engine) loopOf(el gnet.EventLoop) *loop {
	if v, ok := e.loops.Load(el); ok {
		return v.(*loop)
	}
	lp := newLoop(e, el, int(e.loopSeq.Add(1)-1))
	v, _ := e.loops.LoadOrStore(el, lp)
	return v.(*loop)
}

// OnOpen adopts a new connection: a dialed upstream connection carries its
// *sock in the context it was enrolled with, a socket back from a detach
// its *reattach; anything else is a client. Loop only.
func (e *Engine) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	switch x := c.Context().(type) {
	case *sock:
		x.c = c
		d := x.dialing
		x.dialing = nil
		x.lp.enter()
		d.Opened(c, x)
		x.lp.leave()
		return nil, gnet.None
	case *reattach:
		x.s.lp.enter()
		x.reattached(c)
		x.s.lp.leave()
		return nil, gnet.None
	}
	lp := e.loopOf(c.EventLoop())
	lp.enter() // a refusal writes, and a failed write closes synchronously
	lp.newClient(c)
	lp.leave()
	return nil, gnet.None
}

// OnTraffic dispatches readable bytes to the connection's state machine. Loop only.
func (e *Engine) OnTraffic(c gnet.Conn) gnet.Action {
	if x, ok := c.Context().(*sock); ok && !x.closed {
		x.lp.enter()
		x.h.Traffic()
		x.lp.leave()
	} else {
		_, _ = c.Discard(-1)
	}
	return gnet.None
}

// OnClose tells the connection's handler its socket is gone, unless we
// closed it (the proxy knows) or detached it (the proxy keeps it). Loop only.
func (e *Engine) OnClose(c gnet.Conn, _ error) gnet.Action {
	if x, ok := c.Context().(*sock); ok && !x.closed && !x.detached && x.c == c {
		x.closed = true
		x.lp.enter() // a teardown may write to the peer, whose close then nests
		x.lp.closed(x)
		x.lp.leave()
	}
	return gnet.None
}

// Streams reports how many bodies have been moved off the loop because their
// reader was slower than their sender. Any goroutine.
func (e *Engine) Streams() int64 { return e.px.Streams() }
