package main

// End-to-end tests of the operations story through the real binary: 100
// reloads and a SIGTERM drain while keep-alive clients keep the gateway
// busy. The clients speak HTTP/1.1 over raw connections on purpose: Go's
// http.Client silently retries an idempotent request whose reused
// connection closed, which would hide exactly the failures these tests look
// for.

import (
	"bufio"
	"context"
	"encoding/json"
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
	"syscall"
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

// reloadConfigs are the two configs TestHundredReloadsUnderLoad alternates.
// /api/* is the same route in both (the same cluster and an unchanged
// rate_limit instance, carried over by every reload). /v/* changes: in A
// it goes to cluster one unchanged; in B to cluster two with strip_prefix
// /v. /v2/* exists only in B, behind a rate_limit instance only B has. So
// each reload adds or drops a cluster, a middleware instance and a route.
type reloadConfigs struct {
	a, b string
}

func newReloadConfigs(listen, adminAddr, stable, one, two string) reloadConfigs {
	head := fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 2, drain_timeout: 5s}
access_log: {enabled: false}
`, listen, adminAddr)
	const lim = "  lim: {type: rate_limit, key: ip, rate: 1000000, per: 1s, burst: 1000000}\n"
	return reloadConfigs{
		a: head + fmt.Sprintf(`clusters:
  stable: {targets: [{url: %q}]}
  one: {targets: [{url: %q}]}
middleware:
%sroutes:
  - {name: api, match: {path: /api/*}, cluster: stable, middleware: [lim]}
  - {name: v, match: {path: /v/*}, cluster: one}
`, stable, one, lim),
		b: head + fmt.Sprintf(`clusters:
  stable: {targets: [{url: %q}]}
  two: {targets: [{url: %q}]}
middleware:
%s  lim2: {type: rate_limit, key: route, rate: 1000000, per: 1s, burst: 1000000}
routes:
  - {name: api, match: {path: /api/*}, cluster: stable, middleware: [lim]}
  - {name: v, match: {path: /v/*}, cluster: two, strip_prefix: /v}
  - {name: v2, match: {path: /v2/*}, cluster: stable, middleware: [lim2]}
`, stable, two, lim),
	}
}

// The three paths the clients use, and the answers the configs give.
const (
	loadAPI = "/api/x"
	loadV   = "/v/x"
	loadV2  = "/v2/x"
	wantAPI = "stable:/api/x" // both configs
	wantVA  = "one:/v/x"      // config A
	wantVB  = "two:/x"        // config B (strip_prefix /v)
	wantV2B = "stable:/v2/x"  // config B; A answers 404
)

// TestHundredReloadsUnderLoad's reloadState: two flag bits and a sequence
// number above them.
const (
	inFlux   = 1 // a reload is under way
	configB  = 2 // config B is installed (A when clear)
	stateInc = 4 // the sequence number's unit: every change adds it
)

// checkAnswer reports what is wrong with r as an answer of config b (A when
// b is false), or "" when it is right.
func checkAnswer(r rawResult, b bool) string {
	if r.err != nil {
		return "transport error"
	}
	var want string
	switch {
	case r.path == loadAPI:
		want = wantAPI
	case r.path == loadV && b:
		want = wantVB
	case r.path == loadV:
		want = wantVA
	case r.path == loadV2 && b:
		want = wantV2B
	default: // /v2/x under A: no route
		if r.status != 404 || !strings.Contains(r.body, `"error"`) {
			return "want a 404 JSON error"
		}
		return ""
	}
	if r.status != 200 || r.body != want {
		return fmt.Sprintf("want 200 %q", want)
	}
	return ""
}

// TestHundredReloadsUnderLoad: the real binary serves four keep-alive
// clients continuously while it is reloaded 100 times, alternating configs
// A and B (see reloadConfigs), 90 times by POST /reload and 10 by SIGHUP,
// with three broken configs pushed in between (a YAML syntax error and an
// unknown cluster by POST /reload, an unknown cluster by SIGHUP).
//
//   - No request fails: no transport error, no reconnection forced by the
//     gateway, and /api/x and /v/x always answer 200 with the body of
//     config A or B; /v2/x answers 200 (B) or a 404 JSON error (A).
//   - Requests switch to the new routes: after every reload a fresh
//     request sees the new config's answers on /v/x and /v2/x; and every
//     load request that ran entirely between two reloads (no reload began
//     between its write and the end of its response) got the answers of
//     the config installed then.
//   - A broken config is refused: POST /reload answers 422 listing
//     file:line:column, SIGHUP logs it, and the running config keeps
//     serving (checked right after each push).
//   - The reload counters read 100 successes and 3 failures; SIGTERM then
//     exits 0 (with no data race under -race).
func TestHundredReloadsUnderLoad(t *testing.T) {
	bin := buildSluice(t)
	stable, one, two := newEchoUpstream(t, "stable", 0), newEchoUpstream(t, "one", 0), newEchoUpstream(t, "two", 0)
	listen, adminAddr := freeAddr(t), freeAddr(t)
	cfgs := newReloadConfigs(listen, adminAddr, stable.URL, one.URL, two.URL)
	file := writeFile(t, cfgs.a)
	p := startSluice(t, bin, file)
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	adminURL := "http://" + adminAddr
	waitUntil(t, p, 10*time.Second, "/readyz 200", func() bool { c, _ := adminDo(hc, "GET", adminURL+"/readyz"); return c == 200 })

	// reloadState is the test's view of the installed config: configB,
	// inFlux while a reload is under way, and a sequence number that every
	// change bumps, so a worker can tell that no reload began while its
	// request was out.
	var reloadState atomic.Uint64
	var (
		served, strict, sawVA, sawVB, sawV2B, sawV2A atomic.Int64
		fmu                                          sync.Mutex
		failures                                     []string
		failed                                       atomic.Int64
	)
	fail := func(format string, args ...any) {
		failed.Add(1)
		fmu.Lock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		fmu.Unlock()
	}

	const workers = 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := dialRaw(listen)
			if err != nil {
				fail("worker %d: dial: %v", w, err)
				return
			}
			defer func() { rc.c.Close() }()
			paths := [...]string{loadAPI, loadV, loadV2}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				before := reloadState.Load()
				r := rc.get(paths[(w+i)%len(paths)], fmt.Sprintf("w%d-%d", w, i))
				after := reloadState.Load()
				inB := before&configB != 0
				switch {
				case r.err != nil:
					fail("%v", r)
				case r.path == loadV && r.body == wantVA:
					sawVA.Add(1)
				case r.path == loadV && r.body == wantVB:
					sawVB.Add(1)
				case r.path == loadV2 && r.status == 200 && r.body == wantV2B:
					sawV2B.Add(1)
				case r.path == loadV2 && r.status == 404 && strings.Contains(r.body, `"error"`):
					sawV2A.Add(1)
				case r.path == loadAPI && r.status == 200 && r.body == wantAPI:
				default:
					fail("%v: not an answer of either config", r)
				}
				if r.err == nil && before == after && before&inFlux == 0 {
					strict.Add(1)
					if msg := checkAnswer(r, inB); msg != "" {
						fail("%v: %s (config B=%v, no reload under way)", r, msg, inB)
					}
				}
				if r.err != nil || r.close {
					fail("worker %d: the gateway closed a keep-alive connection (%v)", w, r)
					rc.c.Close()
					if rc, err = dialRaw(listen); err != nil {
						fail("worker %d: redial: %v", w, err)
						return
					}
				}
				served.Add(1)
			}
		}()
	}
	stopWorkers := func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}
	defer stopWorkers()

	// The checker asks on its own keep-alive connection, always after the
	// reload it checks has been confirmed.
	checker, err := dialRaw(listen)
	if err != nil {
		t.Fatal(err)
	}
	defer checker.c.Close()
	var checks int
	answersOf := func(b bool) bool {
		for _, path := range []string{loadV, loadV2, loadAPI} {
			checks++
			r := checker.get(path, fmt.Sprintf("check-%d", checks))
			if r.err != nil || r.close {
				t.Fatalf("checker: %v", r)
			}
			if checkAnswer(r, b) != "" {
				return false
			}
		}
		return true
	}
	mustServe := func(b bool, after string) {
		t.Helper()
		if !answersOf(b) {
			t.Fatalf("after %s the gateway does not answer as config B=%v", after, b)
		}
	}
	mustServe(false, "start-up")
	time.Sleep(50 * time.Millisecond) // let the load get going before the first reload

	begin := time.Now()
	var sighups, posts int
	var slowest time.Duration
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// pushBroken writes a broken config, asks for a reload, checks the
	// refusal and that the running config (B=b) still answers.
	type position struct{ lineMin, lineMax, colMin, colMax int }
	pushBroken := func(b bool, body string, at position, want string) {
		t.Helper()
		cur := reloadState.Load()
		reloadState.Store(cur | inFlux)
		write(body)
		c, resp := adminDo(hc, "POST", adminURL+"/reload")
		var ans struct {
			Error  string
			Errors []struct {
				File         string
				Line, Column int
				Text         string
			}
		}
		if err := json.Unmarshal([]byte(resp), &ans); c != 422 || err != nil || len(ans.Errors) == 0 {
			t.Fatalf("broken config: POST /reload = %d %v\n%s", c, err, resp)
		}
		e := ans.Errors[0]
		if e.File != file || e.Line < at.lineMin || e.Line > at.lineMax || e.Column < at.colMin || e.Column > at.colMax ||
			!strings.HasPrefix(e.Text, fmt.Sprintf("%s:%d:%d: ", file, e.Line, e.Column)) || !strings.Contains(e.Text, want) {
			t.Errorf("broken config: want %s:[%d-%d]:[%d-%d] %q, got %+v", file, at.lineMin, at.lineMax, at.colMin, at.colMax, want, e)
		}
		reloadState.Store(cur + stateInc) // same config, new sequence
		mustServe(b, "a refused reload")
	}
	// lineOf is the 1-based line of the first line of body containing s, and
	// the 1-based column of s in it.
	lineOf := func(body, s string) (int, int) {
		for i, l := range strings.Split(body, "\n") {
			if c := strings.Index(l, s); c >= 0 {
				return i + 1, c + 1
			}
		}
		t.Fatalf("%q not in the config", s)
		return 0, 0
	}

	const reloads = 100
	for i := 1; i <= reloads; i++ {
		toB := i%2 == 1
		body := cfgs.a
		if toB {
			body = cfgs.b
		}
		cur := reloadState.Load()
		reloadState.Store(cur | inFlux)
		write(body)
		start := time.Now()
		if i%10 == 5 { // 10 of the 100 by SIGHUP: confirmed when the new answers show
			sighups++
			p.signal(t, syscall.SIGHUP)
			waitUntil(t, p, 5*time.Second, fmt.Sprintf("SIGHUP reload %d", i), func() bool { return answersOf(toB) })
		} else {
			posts++
			if c, resp := adminDo(hc, "POST", adminURL+"/reload"); c != 200 || !strings.Contains(resp, `"status": "reloaded"`) {
				t.Fatalf("reload %d: POST /reload = %d\n%s\nlog:\n%s", i, c, resp, p.logs.String())
			}
		}
		slowest = max(slowest, time.Since(start))
		next := (cur &^ (inFlux | configB)) + stateInc
		if toB {
			next |= configB
		}
		reloadState.Store(next)
		mustServe(toB, fmt.Sprintf("reload %d", i))

		switch i {
		case 33: // B is running: a YAML syntax error
			broken := strings.Replace(cfgs.b, "middleware: [lim2]}", "middleware: [lim2]", 1)
			line, _ := lineOf(broken, "middleware: [lim2]")
			// The parser notices the unclosed flow mapping at the end of
			// its line or at the start of the next.
			pushBroken(true, broken, position{line, line + 1, 1, 200}, "")
		case 50: // A is running: an unknown cluster
			broken := strings.Replace(cfgs.a, "cluster: one}", "cluster: nope}", 1)
			line, col := lineOf(broken, "nope")
			pushBroken(false, broken, position{line, line, col, col}, `routes[1].cluster: unknown cluster "nope"`)
		case 67: // B is running: an unknown cluster, by SIGHUP
			cur := reloadState.Load()
			reloadState.Store(cur | inFlux)
			failedBefore := strings.Count(p.logs.String(), "reload failed")
			broken := strings.Replace(cfgs.a, "cluster: one}", "cluster: nope}", 1)
			line, _ := lineOf(broken, "nope")
			write(broken)
			p.signal(t, syscall.SIGHUP)
			waitUntil(t, p, 5*time.Second, "the SIGHUP reload failure in the log", func() bool {
				return strings.Count(p.logs.String(), "reload failed") > failedBefore
			})
			if !strings.Contains(p.logs.String(), fmt.Sprintf("%s:%d:", file, line)) {
				t.Errorf("the SIGHUP reload failure lacks %s:%d:\n%s", file, line, p.logs.String())
			}
			reloadState.Store(cur + stateInc)
			mustServe(true, "a refused SIGHUP reload")
		}
	}
	took := time.Since(begin)
	time.Sleep(50 * time.Millisecond) // a little load on the last config
	stopWorkers()

	c, metrics := adminDo(hc, "GET", adminURL+"/metrics")
	for _, want := range []string{`sluice_config_reloads_total{result="success"} 100`, `sluice_config_reloads_total{result="failure"} 3`,
		"sluice_config_last_reload_successful 1"} {
		if c != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	p.signal(t, syscall.SIGTERM)
	p.waitExit(t, 10*time.Second)

	t.Logf("%d reloads (%d POST /reload, %d SIGHUP, slowest %v) + 3 refused in %v; %d load requests served (%.0f/s), %d checked against the config installed throughout, %d checker requests",
		reloads, posts, sighups, slowest.Round(time.Millisecond), took.Round(time.Millisecond), served.Load(),
		float64(served.Load())/took.Seconds(), strict.Load(), checks)
	t.Logf("answers seen under load: /v/x A %d, B %d; /v2/x B %d, A (404) %d", sawVA.Load(), sawVB.Load(), sawV2B.Load(), sawV2A.Load())
	if n := failed.Load(); n > 0 {
		t.Errorf("%d load requests failed; the first:\n%s", n, strings.Join(failures, "\n"))
	}
	if sawVA.Load() == 0 || sawVB.Load() == 0 || sawV2A.Load() == 0 || sawV2B.Load() == 0 {
		t.Error("the load did not see both configs' answers: the test proved little")
	}
	if served.Load() < 1000 {
		t.Errorf("only %d requests served under load", served.Load())
	}
}

// TestDrainUnderLoad: the real binary is stopped with SIGTERM while eight
// keep-alive clients load it, four of them on a path the upstream answers
// in 200 ms, so several requests are in flight when the signal arrives.
//
// A request is accepted by the gateway when any of these holds:
//  1. the upstream received it (it recorded the request's X-Test-ID);
//  2. any byte of a response to it arrived;
//  3. it was written in full before SIGTERM was sent, on a connection that
//     had already carried a response (so the gateway had accepted the
//     connection and was reading it) and had not said Connection: close (a
//     client never reuses one that did).
//
// Every accepted request must end in a complete 200 with the upstream's
// body; a request failed if it got another status or its connection was
// closed or reset before the whole response arrived. A request on a new
// connection after SIGTERM may get the drain's 503 (Connection: close,
// JSON error "draining: shutting down"). A request that is not
// accepted may fail with a transport error; it is counted as refused. That
// is one written after SIGTERM on a keep-alive connection the gateway has
// closed as idle (the race every HTTP/1.1 server has when it closes an idle
// connection; RFC 9112 §9.3.1 lets clients retry such requests), or sent
// on a connection still queued in the kernel when the loops stopped (they
// are reset with the listener). Besides: no request fails before
// SIGTERM, /readyz answers 503 right after it and never 200 again, and the
// process exits 0 well within server.drain_timeout.
func TestDrainUnderLoad(t *testing.T) {
	bin := buildSluice(t)
	const slow, drainTimeout = 200 * time.Millisecond, 3 * time.Second
	up := newEchoUpstream(t, "up", slow)
	listen, adminAddr := freeAddr(t), freeAddr(t)
	file := writeFile(t, fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 2, drain_timeout: %v}
access_log: {enabled: false}
clusters:
  up: {targets: [{url: %q}]}
routes:
  - {name: api, match: {path: /api/*}, cluster: up}
`, listen, adminAddr, drainTimeout, up.URL))
	p := startSluice(t, bin, file)
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	readyz := "http://" + adminAddr + "/readyz"
	waitUntil(t, p, 10*time.Second, "/readyz 200", func() bool { c, _ := adminDo(hc, "GET", readyz); return c == 200 })

	var sentAt atomic.Int64 // unix nanos when SIGTERM was sent; 0 before
	const fast, slowClients = 4, 4
	results := make([][]rawResult, fast+slowClients)
	var dialFailures [fast + slowClients]int
	var wg sync.WaitGroup
	for w := range fast + slowClients {
		path := "/api/fast"
		if w >= fast {
			path = "/api/slow"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rc *rawConn
			defer func() {
				if rc != nil {
					rc.c.Close()
				}
			}()
			deadline := time.Now().Add(15 * time.Second) // a bound if the gateway never stops
			for i := 0; time.Now().Before(deadline); i++ {
				if rc == nil {
					var err error
					if rc, err = dialRaw(listen); err != nil {
						if sentAt.Load() != 0 {
							return // the listener is gone: done
						}
						dialFailures[w]++
						return
					}
				}
				r := rc.get(path, fmt.Sprintf("w%d-%d", w, i))
				results[w] = append(results[w], r)
				if r.err != nil || r.close {
					rc.c.Close()
					rc = nil
					if sentAt.Load() != 0 {
						select {
						case <-p.exited:
							return
						case <-time.After(time.Millisecond): // ease the redial churn while the drain runs
						}
					}
				}
			}
		}()
	}

	// Stop while the upstream holds slow requests, after some load.
	time.Sleep(300 * time.Millisecond)
	waitUntil(t, p, 5*time.Second, "slow requests in flight", func() bool { return up.inFlight.Load() >= 3 })
	busy := up.inFlight.Load()

	// /readyz from the moment of the signal until the process is gone.
	type probe struct {
		at   time.Duration // since SIGTERM
		code int
	}
	probes := make(chan []probe, 1)
	begin := time.Now()
	sentAt.Store(begin.UnixNano())
	p.signal(t, syscall.SIGTERM)
	go func() {
		var ps []probe
		for {
			c, _ := adminDo(hc, "GET", readyz)
			if c == 0 {
				break // the admin listener closed: the process is on its way out
			}
			ps = append(ps, probe{time.Since(begin), c})
			select {
			case <-p.exited:
			case <-time.After(2 * time.Millisecond):
				continue
			}
			break
		}
		probes <- ps
	}()
	exitTook := p.waitExit(t, drainTimeout+5*time.Second)
	wg.Wait()
	ps := <-probes

	// /readyz: 503 soon after the signal, and never 200 after that.
	first503 := time.Duration(-1)
	for _, pr := range ps {
		switch {
		case pr.code == 503 && first503 < 0:
			first503 = pr.at
		case pr.code == 200 && first503 >= 0:
			t.Errorf("/readyz answered 200 at %v after SIGTERM, after a 503 at %v", pr.at, first503)
		case pr.code != 200 && pr.code != 503:
			t.Errorf("/readyz answered %d at %v after SIGTERM", pr.code, pr.at)
		}
	}
	if first503 < 0 {
		t.Errorf("/readyz never answered 503 during the drain (%d probes)", len(ps))
	} else if first503 > 500*time.Millisecond {
		t.Errorf("/readyz turned 503 only %v after SIGTERM", first503)
	}
	if exitTook >= drainTimeout {
		t.Errorf("the gateway took %v to exit, not within drain_timeout %v", exitTook, drainTimeout)
	}
	if strings.Contains(p.logs.String(), "drain timeout") {
		t.Errorf("the drain hit its timeout:\n%s", p.logs.String())
	}
	for w, n := range dialFailures {
		if n > 0 {
			t.Errorf("client %d could not connect before SIGTERM", w)
		}
	}

	sig := time.Unix(0, sentAt.Load())
	var ok, okAfter, across, spanning, closing, refused, refusedBefore, answered503, bad int
	for _, rs := range results {
		for _, r := range rs {
			_, reached := up.reached.Load(r.id)
			accepted := reached || r.gotBytes || (r.onServed && r.written && r.wroteAt.Before(sig))
			good := r.err == nil && r.status == 200 && r.body == "up:"+r.path
			switch {
			case !reached && !r.onServed && r.end.After(sig) && r.err == nil && r.status == 503 && r.close &&
				strings.Contains(r.body, `"error":"draining: shutting down"`):
				answered503++ // a new connection during the drain, refused with an answer
			case good:
				ok++
				if r.end.After(sig) {
					okAfter++
					if r.close {
						closing++
					}
					if r.wroteAt.Before(sig) {
						across++
						if r.path == "/api/slow" {
							spanning++
						}
					}
				}
			case accepted || r.end.Before(sig):
				bad++
				if bad <= 20 {
					t.Errorf("accepted request failed (reached upstream=%v; written %v and ended %v after SIGTERM): %v",
						reached, r.wroteAt.Sub(sig).Round(time.Microsecond), r.end.Sub(sig).Round(time.Microsecond), r)
				}
			case r.wroteAt.Before(sig) && r.written:
				refusedBefore++ // a fresh connection the gateway never took
			default:
				refused++
			}
		}
	}
	t.Logf("race=%v: %d requests served, %d finished after SIGTERM (%d written before it, %d of them slow ones; %d said Connection: close); upstream held %d slow requests at the signal; %d new connections answered 503 draining; %d refused after SIGTERM, %d written before it on a connection never taken; %d failed",
		raceBuild(), ok, okAfter, across, spanning, closing, busy, answered503, refused, refusedBefore, bad)
	t.Logf("/readyz: 503 %v after SIGTERM (%d probes); exit 0 %v after SIGTERM (drain_timeout %v)",
		first503.Round(time.Microsecond), len(ps), exitTook.Round(time.Millisecond), drainTimeout)
	if spanning == 0 {
		t.Error("no slow request in flight across SIGTERM completed: the test proved little")
	}
}
