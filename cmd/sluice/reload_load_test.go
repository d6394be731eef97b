package main

// End-to-end tests of the operations story through the real binary: 100
// reloads and a SIGTERM drain while keep-alive clients keep the gateway
// busy. The clients speak HTTP/1.1 over raw connections on purpose: Go's
// http.Client silently retries an idempotent request whose reused
// connection closed, which would hide exactly the failures these tests look
// for.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

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
