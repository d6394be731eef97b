package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/redistest"
	"github.com/sluicehq/sluice/limiter"
)

// TestClusterRateLimitRedisDelay puts toxiproxy between the gateways and
// Redis and adds 200 ms to every Redis answer, alternating with phases
// without it in the same run. The p99 of a route without a cluster limit
// must stay far below the delay (no request waits on Redis), and the
// limited route may drift from one bucket by no more than the bound the
// longer round trip allows: (instances-1) × rate × (sync interval + 200
// ms) requests on top of the 5% of the undelayed phase.
func TestClusterRateLimitRedisDelay(t *testing.T) {
	const delay = 200 * time.Millisecond
	bin := buildSluice(t)
	srv := redistest.Start(t)
	up := newEchoUpstream(t, "up", 0)
	tx := startToxiproxy(t)
	proxy := freeAddr(t)
	tx.post(t, "/proxies", fmt.Sprintf(`{"name":"redis","listen":%q,"upstream":%q}`, proxy, srv.Addr))

	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	gws := startClusterGateways(t, bin, hc, proxy, up.URL)
	lc := limiter.Config{Rate: clusterRate, Per: time.Second, Burst: 20}
	ld := newLoad(hc, gws, lc)
	defer ld.stop()
	roundRobin := func(i int) int { return i % 3 }
	ld.run(roundRobin, time.Second) // spends the burst

	const window = 3 * time.Second
	phase := func(name string) (gap float64, p99 time.Duration) {
		pr := startProbe(gws)
		r := ld.run(roundRobin, window)
		lat := pr.stop()
		p99 = lat[len(lat)*99/100]
		t.Logf("%s: limited route admitted %d, one bucket %d: %+.1f%%; unlimited route p50 %v p90 %v p99 %v over %d requests",
			name, r.ok(), r.ref, r.gap(), lat[len(lat)/2], lat[len(lat)*9/10], p99, len(lat))
		if r.other != 0 {
			t.Errorf("%s: %d answers neither 200 nor 429: %v", name, r.other, r.errs)
		}
		return r.gap(), p99
	}
	// Alternate the phases, twice each, and judge each condition's p99 by
	// its better run: a stall of this shared machine lands in one phase and
	// is no property of the gateway.
	slow := fmt.Sprintf(`{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":%d}}`, delay.Milliseconds())
	var gaps [2][]float64
	var p99s [2][]time.Duration
	for range 2 {
		g, p := phase("redis direct")
		gaps[0], p99s[0] = append(gaps[0], g), append(p99s[0], p)
		tx.post(t, "/proxies/redis/toxics", slow)
		ld.run(roundRobin, time.Second) // rounds now take the delay
		g, p = phase("redis +200ms")
		gaps[1], p99s[1] = append(gaps[1], g), append(p99s[1], p)
		tx.delete(t, "/proxies/redis/toxics/slow")
		ld.run(roundRobin, time.Second)
	}
	for _, g := range gws {
		if c := g.check(hc); c != "ok" {
			t.Errorf("a 200 ms delay under the 500 ms timeout put a limit in failure mode: %s", c)
		}
	}
	gap0, gap1 := (gaps[0][0]+gaps[0][1])/2, (gaps[1][0]+gaps[1][1])/2
	p990, p991 := min(p99s[0][0], p99s[0][1]), min(p99s[1][0], p99s[1][1])
	t.Logf("mean gap from one bucket: direct %+.1f%%, delayed %+.1f%%; unlimited route p99 (better run): direct %v, delayed %v",
		gap0, gap1, p990, p991)
	if gap0 < -5 || gap0 > 5 {
		t.Errorf("without delay: %+.1f%% from one bucket, want within 5%%", gap0)
	}
	bound := 100 * float64(2*clusterRate) * (0.05 + delay.Seconds()) / (clusterRate * window.Seconds())
	if gap1 < -5-bound || gap1 > 5+bound {
		t.Errorf("with delay: %+.1f%% from one bucket, want within 5%% + %.1f%%", gap1, bound)
	}
	// A request that waited on Redis would take the whole delay; what is
	// left on this shared 2-core machine is scheduling noise of either
	// condition (the log shows both p99s), so the check is against the
	// delay itself rather than a ratio of two noisy tails.
	if p991 >= delay/2 {
		t.Errorf("unlimited route p99 went from %v to %v with Redis slowed by %v", p990, p991, delay)
	}
}

// probe times GET /open/x on each gateway in turn, 50 a second.
type probe struct {
	mu   sync.Mutex
	lat  []time.Duration
	done chan struct{}
	wg   sync.WaitGroup
}

func startProbe(gws []gatewayAddrs) *probe {
	p := &probe{done: make(chan struct{})}
	hc := &http.Client{Timeout: 5 * time.Second}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
			start := time.Now()
			if c := statusOf(hc, "http://"+gws[i%len(gws)].listen+"/open/x"); c == 200 {
				p.mu.Lock()
				p.lat = append(p.lat, time.Since(start))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// stop ends the probe and returns the latencies, sorted.
func (p *probe) stop() []time.Duration {
	close(p.done)
	p.wg.Wait()
	slices.Sort(p.lat)
	if len(p.lat) == 0 {
		return []time.Duration{0}
	}
	return p.lat
}

// toxiproxy is Shopify's toxiproxy server (tools/go.mod) as a child
// process, driven through its HTTP API.
type toxiproxy struct{ api string }

func startToxiproxy(t *testing.T) *toxiproxy {
	t.Helper()
	cmd := exec.Command("go", "tool", "-n", "server")
	cmd.Dir = "../../tools"
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("building toxiproxy from tools/go.mod: %v", err)
	}
	addr := freeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	srv := exec.Command(strings.TrimSpace(string(out)), "-host", host, "-port", port)
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	tx := &toxiproxy{api: "http://" + addr}
	hc := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); statusOf(hc, tx.api+"/version") != 200; {
		if time.Now().After(deadline) {
			t.Fatalf("toxiproxy did not come up")
		}
		<-time.After(20 * time.Millisecond)
	}
	return tx
}

func (tx *toxiproxy) delete(t *testing.T, path string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, tx.api+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("toxiproxy DELETE %s: %s", path, resp.Status)
	}
}

func (tx *toxiproxy) post(t *testing.T, path, body string) {
	t.Helper()
	resp, err := http.Post(tx.api+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("toxiproxy POST %s: %s", path, resp.Status)
	}
}
