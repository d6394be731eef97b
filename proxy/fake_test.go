package proxy

import (
	"bytes"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/pipeline"
)

// An in-memory transport and a clock the test moves: the proxy's policy
// (head rewriting, retries, timeouts, error replies) driven byte for byte
// without a socket, a loop or a sleep. Everything runs on the test
// goroutine, which plays the event loop.

// memConn is a Conn over memory: inbuf is what the peer sent and the
// proxy has not consumed, out what the proxy wrote.
type memConn struct {
	inbuf
	out     bytes.Buffer
	pending int // OutboundBuffered: bytes "the socket did not take"
}

func (c *memConn) Write(b []byte) (int, error) { return c.out.Write(b) }

func (c *memConn) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		m, _ := c.out.Write(b)
		n += m
	}
	return n, nil
}

func (c *memConn) OutboundBuffered() int { return c.pending }

// takeOut returns what was written since the last call.
func (c *memConn) takeOut() string {
	s := c.out.String()
	c.out.Reset()
	return s
}

// memSock is a Socket over memory. It cannot be detached: the streaming
// paths are the engine's end-to-end tests' to prove.
type memSock struct {
	noFd
	closed, shut, refused bool
}

func (s *memSock) Close()           { s.closed = true }
func (s *memSock) ShutWrite() error { s.shut = true; return nil }
func (s *memSock) Refused() bool    { s.refused = true; return true }

// memDial is a Dial the test has not answered yet.
type memDial struct {
	addr    string
	timeout time.Duration
	d       Dialing
}

// memLoop is a Loop over memory: Execute queues, Dial records.
type memLoop struct {
	mu       sync.Mutex
	queue    []func()
	dials    []*memDial
	upstream int  // OpenUpstream - CloseUpstream
	full     bool // OpenUpstream refuses: the descriptor budget is spent
}

func (l *memLoop) Execute(fn func()) error {
	l.mu.Lock()
	l.queue = append(l.queue, fn)
	l.mu.Unlock()
	return nil
}

func (l *memLoop) Dial(addr string, timeout time.Duration, d Dialing) {
	l.dials = append(l.dials, &memDial{addr, timeout, d})
}

func (l *memLoop) OpenUpstream() bool {
	if l.full {
		return false
	}
	l.upstream++
	return true
}
func (l *memLoop) HoldUpstream()  { l.upstream++ }
func (l *memLoop) CloseUpstream() { l.upstream-- }

// rig is one Worker on a memLoop with the config of a test.
type rig struct {
	t   *testing.T
	px  *Proxy
	w   *Worker
	lp  *memLoop
	now int64
}

// newRig builds the snapshot of yml (a whole config file) and a Worker
// serving it. The clock starts at an arbitrary fixed time.
func newRig(t *testing.T, yml string) *rig {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.AccessLog.Enabled = false
	snap, err := pipeline.Build(cfg)
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	r := &rig{t: t, px: New(snap), lp: &memLoop{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()}
	r.px.now.Store(r.now)
	r.w = r.px.NewWorker(r.lp, 0)
	return r
}

// run runs what was queued with Execute, and what that queued, until
// nothing is left: the loop's next events.
func (r *rig) run() {
	for {
		r.lp.mu.Lock()
		q := r.lp.queue
		r.lp.queue = nil
		r.lp.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, fn := range q {
			fn()
		}
	}
}

// advance moves the clock by d and sweeps, as the transport's tick does.
func (r *rig) advance(d time.Duration) {
	r.now += int64(d)
	r.px.Tick(r.now)
	r.w.Sweep()
}

// memClient is a client connection of a rig.
type memClient struct {
	r *rig
	c *memConn
	s *memSock
	h Downstream
}

// client accepts a connection from peer (an IP address).
func (r *rig) client(peer string) *memClient {
	mc := &memClient{r: r, c: &memConn{}, s: &memSock{}}
	r.w.Accept(mc.c, mc.s, netip.MustParseAddr(peer), Admitted, func(h Downstream) { mc.h = h })
	return mc
}

// send delivers raw bytes from the client.
func (mc *memClient) send(raw string) {
	mc.c.inbuf = append(mc.c.inbuf, raw...)
	mc.h.Traffic()
}

// dial answers the oldest pending Dial by opening it, and returns the
// upstream connection.
func (r *rig) dial() *memUp {
	r.t.Helper()
	d := r.nextDial()
	u := &memUp{c: &memConn{}, s: &memSock{}, h: d.d, addr: d.addr}
	d.d.Opened(u.c, u.s)
	return u
}

// failDial answers the oldest pending Dial with a failure.
func (r *rig) failDial() {
	r.t.Helper()
	r.nextDial().d.DialFailed(errors.New("connection refused"))
}

func (r *rig) nextDial() *memDial {
	r.t.Helper()
	if len(r.lp.dials) == 0 {
		r.t.Fatal("no dial pending")
	}
	d := r.lp.dials[0]
	r.lp.dials = r.lp.dials[1:]
	return d
}

// memUp is an upstream connection of a rig.
type memUp struct {
	c    *memConn
	s    *memSock
	h    Handler
	addr string
}

// reply delivers raw bytes from the upstream.
func (u *memUp) reply(raw string) {
	u.c.inbuf = append(u.c.inbuf, raw...)
	u.h.Traffic()
}

// hangUp closes the upstream's side, as the transport reports a peer close.
func (u *memUp) hangUp() {
	u.s.closed = true
	u.h.Closed()
	u.h.Teardown()
}

// requestIDs matches the request ID lines, which differ per run.
var requestIDs = regexp.MustCompile(`(?m)^(X-Request-Id|X-Request-ID): [0-9a-f]{32}\r$`)

// stable replaces generated request IDs and the Date with fixed text, so a
// whole head can be compared.
func stable(s string) string {
	s = requestIDs.ReplaceAllString(s, "$1: ID\r")
	return regexp.MustCompile(`(?m)^Date: [^\r]*\r$`).ReplaceAllString(s, "Date: D\r")
}

// lines is s with CRLFs shown as newlines, for failure messages.
func lines(s string) string { return strings.ReplaceAll(s, "\r\n", "⏎\n") }
