package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/pipeline"
)

// gateway is a real engine listening on 127.0.0.1 for one test.
type gateway struct {
	t    testing.TB
	e    *Engine
	addr string
	done chan error
}

// startGateway runs the engine on a free loopback port with the YAML config
// yml, in which "{{listen}}" is replaced by the chosen address.
func startGateway(t testing.TB, yml string, loops int) *gateway {
	t.Helper()
	return startGatewayOpts(t, yml, Options{Loops: loops})
}

// startGatewayOpts is startGateway with engine options (a small WriteBuffer
// keeps pending bytes in gnet's outbound buffer, where tests can see what
// happens to them).
func startGatewayOpts(t testing.TB, yml string, opts Options) *gateway {
	t.Helper()
	return startGatewayWith(t, yml, opts, nil)
}

// startGatewayWith is startGatewayOpts with a hook that adjusts the engine
// after New and before Serve (the go statement orders its writes before
// every loop's reads).
func startGatewayWith(t testing.TB, yml string, opts Options, adjust func(*Engine)) *gateway {
	t.Helper()
	addr := freeAddr(t)
	yml = strings.ReplaceAll(yml, "{{listen}}", addr)
	cfg, err := config.Parse("test.yaml", []byte(yml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if !strings.Contains(yml, "access_log") {
		cfg.AccessLog.Enabled = false // keep test output readable
	}
	snap, err := pipeline.Build(cfg)
	if err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	snap.Start()
	t.Cleanup(snap.Close)
	opts.Listen = addr
	opts.ReusePort = true
	opts.DrainTimeout = 5 * time.Second
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e := New(opts, snap)
	if adjust != nil {
		adjust(e)
	}
	g := &gateway{t: t, e: e, addr: addr, done: make(chan error, 1)}
	go func() { g.done <- e.Serve() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Ready(ctx); err != nil {
		t.Fatalf("gateway did not start: %v", err)
	}
	t.Cleanup(g.stop)
	return g
}

func (g *gateway) stop() {
	if g.e.Draining() {
		<-g.done
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.e.Shutdown(ctx)
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		g.t.Error("engine did not stop")
	}
}

func (g *gateway) url(path string) string { return "http://" + g.addr + path }

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// countingServer is a net/http upstream that counts the TCP connections it
// accepted, to prove keep-alive reuse.
type countingServer struct {
	*http.Server
	ln    net.Listener
	conns atomic.Int64 // accepted so far
	open  atomic.Int64 // open now
	addr  string
}

func startUpstream(t testing.TB, h http.Handler) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveUpstream(t, ln, h)
}

// smallRcvBuf makes every accepted connection's receive buffer small, so a
// slow reader pushes back on the sender within kilobytes instead of the
// megabytes loopback autotuning allows.
type smallRcvBuf struct{ net.Listener }

func (l smallRcvBuf) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(32 << 10)
	}
	return c, err
}

func serveUpstream(t testing.TB, ln net.Listener, h http.Handler) *countingServer {
	s := &countingServer{ln: ln, addr: ln.Addr().String()}
	s.Server = &http.Server{Handler: h, ConnState: func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// oneCluster is a config with one cluster "up" at addr and the given routes
// (YAML list items, indented by two spaces).
func oneCluster(addr, extra, routes string) string {
	return fmt.Sprintf(`listen: "{{listen}}"
admin: ""
%s
clusters:
  up:
    targets:
      - url: http://%s
    timeouts: {connect: 500ms, response: 1s}
routes:
%s`, extra, addr, routes)
}

// rawConn is a client speaking raw bytes, for what net/http will not send.
type rawConn struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.Conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readResponse reads one response with net/http's parser (a second, independent
// opinion on our framing) and returns it with its body read.
func (c *rawConn) readResponse(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return resp, string(body)
}

// expectEOF asserts the gateway closed the connection.
func (c *rawConn) expectEOF() {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := c.r.ReadByte()
	if err == nil {
		rest, _ := c.r.Peek(c.r.Buffered())
		c.t.Fatalf("expected close, got %q", append([]byte{b}, rest...))
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatal("expected close, connection still open")
	}
}
