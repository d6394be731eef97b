package main

// Helpers of the tests that build and run the real binary under load
// (reload_load_test.go, drain_load_test.go): the build, the process, an echo
// upstream, a raw client.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// raceBuild reports whether this test binary was built with -race; the
// gateway binary under test is then built with it too, so a data race in
// the gateway during the reloads or the drain fails the test (the race
// runtime makes the process exit 66).
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// buildSluice builds this package's binary into a temporary directory and
// returns its path (about 3 s with a warm build cache).
func buildSluice(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "sluice")
	args := []string{"build", "-o", bin}
	if raceBuild() {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sluiceProc is the gateway binary running as a child process.
type sluiceProc struct {
	cmd    *exec.Cmd
	logs   *syncBuffer   // its stderr
	exited chan struct{} // closed once the process has been reaped
	err    error         // cmd.Wait's result; read after exited
}

// startSluice runs bin on cfg; the cleanup kills it if the test did not
// stop it.
func startSluice(t *testing.T, bin, cfg string) *sluiceProc {
	t.Helper()
	p := &sluiceProc{cmd: exec.Command(bin, "-config", cfg), logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.logs
	if os.Getenv("GORACE") == "" {
		// A -race binary sleeps 1 s at exit by default, so reports from
		// other threads can finish; exit timing is under test here.
		p.cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=50")
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// signal sends sig to the gateway.
func (p *sluiceProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// waitExit waits up to d for the process to end and fails unless it exited
// 0 without a data race report; it returns how long it waited.
func (p *sluiceProc) waitExit(t *testing.T, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Fatalf("the gateway is still running %v later; log:\n%s", d, p.logs.String())
	}
	took := time.Since(start)
	if p.err != nil {
		t.Errorf("exit: %v (want status 0); log:\n%s", p.err, p.logs.String())
	}
	if strings.Contains(p.logs.String(), "DATA RACE") {
		t.Errorf("the gateway reported a data race:\n%s", p.logs.String())
	}
	return took
}

// waitUntil polls ok every 5 ms until it holds, for at most d.
func waitUntil(t *testing.T, p *sluiceProc, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; log:\n%s", d, what, p.logs.String())
		}
		select {
		case <-p.exited:
			t.Fatalf("the gateway exited while waiting for %s: %v; log:\n%s", what, p.err, p.logs.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// echoUpstream answers every request with name:path, so a client sees
// which upstream (cluster) a route led to and how the path was rewritten.
// slow, when > 0, is how long a request for a path ending in /slow takes;
// reached records each X-Test-ID it got, inFlight counts slow requests.
type echoUpstream struct {
	*httptest.Server
	reached  sync.Map // X-Test-ID -> struct{}
	inFlight atomic.Int64
}

func newEchoUpstream(t *testing.T, name string, slow time.Duration) *echoUpstream {
	u := &echoUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Test-ID"); id != "" {
			u.reached.Store(id, struct{}{})
		}
		if slow > 0 && strings.HasSuffix(r.URL.Path, "/slow") {
			u.inFlight.Add(1)
			time.Sleep(slow) // the upstream's behaviour under test, not a wait for the test
			u.inFlight.Add(-1)
		}
		io.WriteString(w, name+":"+r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

// rawConn is one client keep-alive connection speaking HTTP/1.1 by hand,
// one request at a time, never retrying.
type rawConn struct {
	c      net.Conn
	br     *bufio.Reader
	served int // complete responses read on this connection
}

func dialRaw(addr string) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, br: bufio.NewReader(c)}, nil
}

// rawResult is what one request came to.
type rawResult struct {
	id, path string
	onServed bool      // the connection had already carried a response
	written  bool      // the whole request was written
	wroteAt  time.Time // when the write returned
	gotBytes bool      // at least one byte of a response arrived
	status   int
	body     string
	close    bool // the response said Connection: close
	err      error
	end      time.Time
}

// get sends GET path with X-Test-ID: id and reads the whole response.
func (rc *rawConn) get(path, id string) (r rawResult) {
	r = rawResult{id: id, path: path, onServed: rc.served > 0}
	defer func() { r.end = time.Now() }()
	_ = rc.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(rc.c, "GET "+path+" HTTP/1.1\r\nHost: sluice.test\r\nX-Test-ID: "+id+"\r\n\r\n"); err != nil {
		r.err = err
		return r
	}
	r.written, r.wroteAt = true, time.Now()
	if _, err := rc.br.Peek(1); err != nil {
		r.err = err
		return r
	}
	r.gotBytes = true
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		r.err = err
		return r
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.status, r.body, r.close, r.err = resp.StatusCode, string(b), resp.Close, err
	if err == nil {
		rc.served++
	}
	return r
}

func (r rawResult) String() string {
	return fmt.Sprintf("%s %s: status %d body %q close=%v err=%v (written=%v onServed=%v gotBytes=%v)",
		r.id, r.path, r.status, r.body, r.close, r.err, r.written, r.onServed, r.gotBytes)
}

// adminDo asks the admin API; 0 and the error text when it could not.
func adminDo(hc *http.Client, method, url string) (int, string) {
	req, _ := http.NewRequest(method, url, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
