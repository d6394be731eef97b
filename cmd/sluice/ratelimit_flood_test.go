package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRateLimitFloodCannotResetBurstOne pins issue 12 through the real
// binary with the config: {key: "header:X-Flood", rate: 1, per: 1h,
// burst: 1, max_keys: 1024}. The victim gets 200, then 429; 8,000 requests
// with made-up keys (pipelined on keep-alive connections; a 1,024-key table
// starts evicting after about a thousand) must not hand it a fresh bucket,
// as they did when eviction looked only at how soon a bucket refills.
func TestRateLimitFloodCannotResetBurstOne(t *testing.T) {
	bin := buildSluice(t)
	up := newEchoUpstream(t, "up", 0)
	listen, adminAddr := freeAddr(t), freeAddr(t)
	file := writeFile(t, fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 2}
access_log: {enabled: false}
clusters:
  up: {targets: [{url: %q}]}
middleware:
  flood: {type: rate_limit, key: "header:X-Flood", rate: 1, per: 1h, burst: 1, max_keys: 1024}
routes:
  - {name: api, match: {path: /api/*}, cluster: up, middleware: [flood]}
`, listen, adminAddr, up.URL))
	p := startSluice(t, bin, file)
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	waitUntil(t, p, 10*time.Second, "/readyz 200", func() bool { c, _ := adminDo(hc, "GET", "http://"+adminAddr+"/readyz"); return c == 200 })

	victim := func() int {
		req, _ := http.NewRequest("GET", "http://"+listen+"/api/x", nil)
		req.Header.Set("X-Flood", "victim")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := victim(), victim(); a != 200 || b != 429 {
		t.Fatalf("victim before the flood: %d then %d, want 200 then 429", a, b)
	}

	const conns, perConn, batch = 4, 2000, 200
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- flood(listen, c, perConn, batch)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := victim(); got != 429 {
		t.Errorf("victim after %d requests with distinct keys: %d, want still 429", conns*perConn, got)
	}
	p.signal(t, syscall.SIGTERM)
	p.waitExit(t, 10*time.Second)
}

// flood sends n requests, each with its own X-Flood key, on one keep-alive
// connection, batch at a time pipelined, and checks each gets its one token.
func flood(addr string, id, n, batch int) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(60 * time.Second)) // a bound, far above the few seconds it takes
	br := bufio.NewReader(c)
	var b strings.Builder
	for sent := 0; sent < n; sent += batch {
		b.Reset()
		for i := sent; i < sent+batch; i++ {
			fmt.Fprintf(&b, "GET /api/x HTTP/1.1\r\nHost: t\r\nX-Flood: flood-%d-%d\r\n\r\n", id, i)
		}
		if _, err := io.WriteString(c, b.String()); err != nil {
			return err
		}
		for i := sent; i < sent+batch; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return fmt.Errorf("flood key %d-%d: %w", id, i, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("flood key %d-%d: status %d, want 200 (a fresh key)", id, i, resp.StatusCode)
			}
		}
	}
	return nil
}
