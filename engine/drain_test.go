package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// drainResult is what one client request came to.
type drainResult struct {
	id         string
	start, end time.Time
	status     int
	body       string
	err        error
}

// TestGracefulDrain: Shutdown while 16 keep-alive clients hammer a 20 ms
// upstream. Every request the gateway accepted (it reached the upstream)
// completes with 200, including those in flight when Shutdown began; the
// only other outcomes allowed, after Shutdown began, are a 503 "draining"
// on a new connection and transport errors on requests the gateway never
// took (idle connections are closed; a connection still queued when the
// loops stop is reset). Shutdown returns well within the drain timeout and
// Serve returns.
func TestGracefulDrain(t *testing.T) {
	checkGoroutineLeaks(t)
	var inFlight, served atomic.Int64
	var reached sync.Map // request ID -> true once the upstream got it
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Store(r.Header.Get("X-Request-ID"), true)
		inFlight.Add(1)
		defer inFlight.Add(-1)
		defer served.Add(1)
		time.Sleep(20 * time.Millisecond)
		idHandler(w, r)
	}))
	g := startGateway(t, ftConfig("", ftRoute("api", "/api", "up"),
		ftCluster{name: "up", addr: up.addr, timeouts: "{connect: 300ms, response: 2s}"}), 2)

	const clients, maxEach = 16, 200 // 200 x 20 ms = 4 s: never reached before the stop
	var shutdownAt atomic.Int64      // unix nanos; 0 before Shutdown
	results := make([][]drainResult, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for j := range maxEach {
				r := drainResult{id: fmt.Sprintf("c%d-%d", i, j), start: time.Now()}
				req, _ := http.NewRequest("GET", g.url("/api/x"), nil)
				req.Header.Set("X-Request-ID", r.id)
				resp, err := hc.Do(req)
				if err == nil {
					b, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					r.status, r.body, err = resp.StatusCode, string(b), rerr
				}
				r.err, r.end = err, time.Now()
				results[i] = append(results[i], r)
				if err != nil && shutdownAt.Load() != 0 {
					return // the gateway is gone: done
				}
			}
		}()
	}

	// Stop under load: every client served at least twice, and the upstream
	// busy with a request right now.
	eventually(t, 10*time.Second, "load running, a request at the upstream", func() bool {
		return served.Load() >= 2*clients && inFlight.Load() > 0
	})
	busy := inFlight.Load()
	begin := time.Now()
	shutdownAt.Store(begin.UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := g.e.Shutdown(ctx)
	cancel()
	took := time.Since(begin)
	if err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-g.done:
		g.done <- err
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
	wg.Wait()

	if busy == 0 {
		t.Fatal("no request was in flight when Shutdown began; the test proved nothing")
	}
	if took > 2*time.Second {
		t.Errorf("Shutdown took %v with 20 ms requests in flight", took)
	}
	var ok, inFlightOK, refused, answered503 int
	for _, rs := range results {
		for _, r := range rs {
			_, accepted := reached.Load(r.id)
			switch {
			case r.err == nil && r.status == 503 && r.end.After(begin) && strings.Contains(r.body, `"error":"draining: shutting down"`):
				answered503++ // a new connection during the drain
			case r.err == nil && (r.status != 200 || r.body != "id="+r.id):
				t.Errorf("%s: %d %q", r.id, r.status, r.body)
			case r.err == nil:
				ok++
				if r.start.Before(begin) && r.end.After(begin) {
					inFlightOK++
				}
			case accepted:
				t.Errorf("%s reached the upstream but the client got %v", r.id, r.err)
			case r.end.Before(begin):
				t.Errorf("%s failed before Shutdown began: %v", r.id, r.err)
			default:
				refused++
			}
		}
	}
	t.Logf("%d requests served, %d of them in flight across Shutdown (upstream busy with %d at the start), %d refused after, %d answered 503 draining; Shutdown took %v",
		ok, inFlightOK, busy, refused, answered503, took)
	if inFlightOK == 0 {
		t.Error("no request spanning the start of Shutdown completed")
	}
}

// TestSIGTERMDrainsAndExitsZero: the real binary, stopped with SIGTERM
// while a slow request is in flight, finishes that request with 200 and
// exits 0 (README: SIGTERM drains, then exits 0).
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	bctx, bcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer bcancel()
	if out, err := exec.CommandContext(bctx, "go", "build", "-o", bin, "../cmd/sluice").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	entered := make(chan struct{}, 1)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/slow" {
			select {
			case entered <- struct{}{}:
			default:
			}
			time.Sleep(500 * time.Millisecond)
		}
		idHandler(w, r)
	}))
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "sluice.yaml")
	yml := fmt.Sprintf(`listen: %q
admin: ""
server: {loops: 2, drain_timeout: 5s, log_level: info}
clusters:
  up:
    targets: [{url: "http://%s"}]
    timeouts: {connect: 300ms, response: 3s}
routes:
  - name: api
    match: {path: /api/*}
    cluster: up
`, addr, up.addr)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1) // receives cmd.Wait's result once
	waited := make(chan struct{}) // closed when the process is reaped
	go func() { err := cmd.Wait(); close(waited); exited <- err }()
	t.Cleanup(func() {
		select {
		case <-waited:
		default:
			_ = cmd.Process.Kill()
			<-waited
		}
	})

	// Wait for the listener (bounded).
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("binary never listened on %s: %v\n%s", addr, err, stderr.String())
		}
		select {
		case err := <-exited:
			t.Fatalf("binary exited early: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	get := func(path, id string) (int, string, bool, error) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		req.Header.Set("X-Request-ID", id)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Close, err
	}
	if st, body, _, err := get("/api/fast", "fast"); err != nil || st != 200 || body != "id=fast" {
		t.Fatalf("first request: %d %q %v\n%s", st, body, err, stderr.String())
	}

	type result struct {
		status int
		body   string
		close  bool
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		st, body, closing, err := get("/api/slow", "slow")
		slow <- result{st, body, closing, err}
	}()
	select {
	case <-entered:
	case <-time.After(3 * time.Second):
		t.Fatal("slow request never reached the upstream")
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-slow:
		if r.err != nil || r.status != 200 || r.body != "id=slow" {
			t.Fatalf("in-flight request across SIGTERM: %d %q %v\n%s", r.status, r.body, r.err, stderr.String())
		}
		if !r.close {
			t.Error("response during the drain did not say Connection: close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight request never completed")
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v (want status 0)\n%s", err, stderr.String())
		}
		if d := time.Since(sent); d > 3*time.Second {
			t.Errorf("took %v to exit after SIGTERM", d)
		}
	case <-time.After(6 * time.Second):
		t.Fatalf("binary still running 6 s after SIGTERM\n%s", stderr.String())
	}
	hc.CloseIdleConnections()
}
