package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// countingUpstream is an upstream that counts the connections it has
// accepted and not yet seen closed, and the most it ever had open.
type countingUpstream struct {
	*httptest.Server
	open, peak atomic.Int64
}

func newCountingUpstream(t *testing.T) *countingUpstream {
	u := &countingUpstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	u.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			n := u.open.Add(1)
			for p := u.peak.Load(); n > p && !u.peak.CompareAndSwap(p, n); p = u.peak.Load() {
			}
		case http.StateClosed, http.StateHijacked:
			u.open.Add(-1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

// lowNofile wraps bin in a script that lowers the descriptor limit to n
// before it starts the gateway, whose descriptor budget (engine/connlimit.go)
// is then n minus its reserve of 1,280.
func lowNofile(t *testing.T, bin string, n int) string {
	script := filepath.Join(t.TempDir(), "sluice-nofile")
	body := fmt.Sprintf("#!/bin/sh\nulimit -n %d || exit 99\nexec %q \"$@\"\n", n, bin)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script
}

// TestChangingReloadsCloseRetiredPools pins issue 12: a reload that changes
// a cluster (here it adds or drops a target) left the old pools' idle
// upstream connections open until their idle timeout (90 s), and they
// counted against the descriptor budget: under load, reloads piled them up
// until new upstream connections were refused with 503 "too many
// connections". The real binary runs with a descriptor budget of 60
// connections (clients and upstream together) while 8 keep-alive clients
// load it and the cluster changes 16 times: every request must get 200,
// and once the load stops the upstreams must see no more connections open
// than the live pools can hold (at most one per client per target).
func TestChangingReloadsCloseRetiredPools(t *testing.T) {
	bin := lowNofile(t, buildSluice(t), 1340)
	a, b := newCountingUpstream(t), newCountingUpstream(t)
	listen, adminAddr := freeAddr(t), freeAddr(t)
	head := fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 2}
access_log: {enabled: false}
routes:
  - {name: api, match: {path: /api/*}, cluster: up}
clusters:
`, listen, adminAddr)
	one := head + fmt.Sprintf("  up: {targets: [{url: %q}]}\n", a.URL)
	two := head + fmt.Sprintf("  up: {targets: [{url: %q}, {url: %q}]}\n", a.URL, b.URL)
	file := writeFile(t, one)
	p := startSluice(t, bin, file)
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	adminURL := "http://" + adminAddr
	waitUntil(t, p, 10*time.Second, "/readyz 200", func() bool { c, _ := adminDo(hc, "GET", adminURL+"/readyz"); return c == 200 })

	const workers, reloads = 8, 16
	var (
		served, failed atomic.Int64
		fmu            sync.Mutex
		failures       []string
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := dialRaw(listen)
			if err != nil {
				failed.Add(1)
				return
			}
			defer func() { rc.c.Close() }()
			deadline := time.Now().Add(30 * time.Second) // a bound if the test never stops us
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := rc.get("/api/x", fmt.Sprintf("w%d-%d", w, i))
				if r.err != nil || r.status != 200 || r.body != "ok" || r.close {
					if failed.Add(1) <= 10 {
						fmu.Lock()
						failures = append(failures, r.String())
						fmu.Unlock()
					}
					rc.c.Close()
					if rc, err = dialRaw(listen); err != nil {
						return
					}
					continue
				}
				served.Add(1)
			}
		}()
	}
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()

	for i := 1; i <= reloads; i++ {
		body := two
		if i%2 == 0 {
			body = one
		}
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if c, resp := adminDo(hc, "POST", adminURL+"/reload"); c != 200 {
			t.Fatalf("reload %d: POST /reload = %d\n%s", i, c, resp)
		}
		// Let the new pools fill under load before the next change.
		from := served.Load()
		waitUntil(t, p, 10*time.Second, fmt.Sprintf("200 requests after reload %d", i), func() bool {
			return served.Load() >= from+200 || failed.Load() > 0
		})
	}
	stopLoad()

	// The last config has both targets: at most one connection per client
	// per target is in a live pool; the retired ones must all be closed.
	const live = 2 * workers
	deadline := time.Now().Add(5 * time.Second)
	for a.open.Load()+b.open.Load() > live && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling the upstreams' counts
	}
	openNow := a.open.Load() + b.open.Load()
	_, metrics := adminDo(hc, "GET", adminURL+"/metrics")
	p.signal(t, syscall.SIGTERM)
	p.waitExit(t, 10*time.Second)

	t.Logf("%d reloads under load: %d requests served, %d failed; upstream connections open after the load: %d (peak A %d, B %d)",
		reloads, served.Load(), failed.Load(), openNow, a.peak.Load(), b.peak.Load())
	if n := failed.Load(); n > 0 {
		t.Errorf("%d requests failed under a 60-connection budget; the first:\n%s", n, strings.Join(failures, "\n"))
	}
	if strings.Contains(metrics, `sluice_upstream_connections_refused_total{reason="descriptors"} `) &&
		!strings.Contains(metrics, `sluice_upstream_connections_refused_total{reason="descriptors"} 0`) {
		t.Errorf("upstream connections were refused for the descriptor budget")
	}
	if openNow > live {
		t.Errorf("%d upstream connections still open after the load stopped; the live pools hold at most %d", openNow, live)
	}
}
