package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/pipeline"
)

const dashToken = "dashboard-test-token-0123456789"

// dashServer starts a Server with a token on a real 127.0.0.1 listener
// and returns its base URL and a client that keeps cookies.
func dashServer(t *testing.T, gw Gateway) (*Server, string, *http.Client) {
	t.Helper()
	s := New(Options{Gateway: gw, Token: dashToken})
	addr, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s, "http://" + addr.String(), c
}

func send(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDashboardPage: / redirects; the page and its assets load without the
// token under a CSP that allows no inline code, and the HTML has none.
func TestDashboardPage(t *testing.T) {
	_, base, c := dashServer(t, &fakeGateway{run: newRunning(t, testYAML)})
	resp, _ := send(t, c, "GET", base+"/", "")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/dashboard" {
		t.Errorf("/: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, html := send(t, c, "GET", base+"/dashboard", "")
	policy := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(policy, "script-src 'self'") || strings.Contains(policy, "unsafe") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("/dashboard: %d %v", resp.StatusCode, resp.Header)
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|<script>|\sstyle=|<style|\son[a-z]+=|https?://`).MatchString(html) {
		t.Errorf("the page has inline code or a remote asset:\n%s", html)
	}
	for path, ctype := range map[string]string{"/dashboard/app.js": "text/javascript", "/dashboard/app.css": "text/css", "/dashboard/favicon.svg": "image/svg+xml"} {
		resp, body := send(t, c, "GET", base+path, "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) < 100 {
			t.Errorf("%s: %d %q, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	if strings.Contains(mustRead(t, "web/app.js"), "innerHTML") {
		t.Error("app.js must set text, never HTML: names come from the config")
	}
}

func mustRead(t *testing.T, name string) string {
	b, err := webFS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDashboardAuth: the data needs the token (bearer) or a session bought
// with it; the cookie is HttpOnly, SameSite=Strict and scoped to the
// dashboard (it does not open /config); the reload needs the session's
// CSRF header; a forged, expired or pre-rotation cookie is refused.
func TestDashboardAuth(t *testing.T) {
	gw := &fakeGateway{run: newRunning(t, testYAML), reload: func() (*ReloadResult, error) { return &ReloadResult{Running: newRunning(t, testYAML)}, nil }}
	s, base, c := dashServer(t, gw)
	data := base + "/dashboard/data"

	_, body := send(t, c, "GET", base+"/dashboard/session", "")
	if st := decode[map[string]bool](t, body); !st["token_required"] || st["authenticated"] {
		t.Errorf("session before login: %s", body)
	}
	if resp, _ := send(t, c, "GET", data, ""); resp.StatusCode != 401 {
		t.Errorf("data without auth: %d", resp.StatusCode)
	}
	if resp, _ := send(t, c, "GET", data, "", "Authorization", "Bearer "+dashToken); resp.StatusCode != 200 {
		t.Errorf("data with the bearer token: %d", resp.StatusCode)
	}
	if resp, _ := send(t, c, "POST", base+"/dashboard/login", `{"token":"wrong-token-0123456789abcdef"}`); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("login with a wrong token: %d %v", resp.StatusCode, resp.Cookies())
	}
	if resp, _ := send(t, c, "POST", base+"/dashboard/login", `{"token":"`+dashToken+`"}`, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != 403 {
		t.Errorf("cross-site login: %d", resp.StatusCode)
	}
	resp, _ := send(t, c, "POST", base+"/dashboard/login", `{"token":"`+dashToken+`"}`)
	if resp.StatusCode != 204 || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d %v", resp.StatusCode, resp.Cookies())
	}
	ck := resp.Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/dashboard" || ck.MaxAge <= 0 || ck.MaxAge > 3600 || strings.Contains(ck.Value, dashToken) {
		t.Errorf("session cookie: %+v", ck)
	}
	resp, body = send(t, c, "GET", data, "")
	csrf := resp.Header.Get(csrfHeader)
	if resp.StatusCode != 200 || csrf == "" || !strings.Contains(body, `"routes"`) {
		t.Fatalf("data with the session: %d %q\n%s", resp.StatusCode, csrf, body)
	}
	// The cookie opens the dashboard only.
	req, _ := http.NewRequest("GET", base+"/config", nil)
	req.AddCookie(ck)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 401 {
		t.Errorf("/config with the session cookie: %v %v", r, err)
	}

	// Reload: no CSRF header, a wrong one, cross-site: refused, nothing ran.
	for _, hdr := range [][]string{nil, {csrfHeader, "forged"}, {csrfHeader, csrf, "Sec-Fetch-Site", "cross-site"}} {
		if resp, body := send(t, c, "POST", base+"/dashboard/reload", "", hdr...); resp.StatusCode != 403 {
			t.Errorf("reload with %v: %d %s", hdr, resp.StatusCode, body)
		}
	}
	if gw.reloads != 0 {
		t.Fatalf("a refused reload ran: %d", gw.reloads)
	}
	if resp, body := send(t, c, "POST", base+"/dashboard/reload", "", csrfHeader, csrf); resp.StatusCode != 200 || gw.reloads != 1 || !strings.Contains(body, "reloaded") {
		t.Errorf("reload with the CSRF header: %d %s", resp.StatusCode, body)
	}
	// Forged and expired cookies; then a token change ends the session.
	for name, v := range map[string]string{"forged": ck.Value[:len(ck.Value)-4] + "AAAA", "expired": s.newSession(time.Now().Add(-2 * sessionTTL))} {
		req, _ := http.NewRequest("GET", data, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: v})
		if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 401 {
			t.Errorf("%s cookie: %v %v", name, r.StatusCode, err)
		}
	}
	s.SetToken("a-rotated-token-0123456789abcdef")
	if resp, _ := send(t, c, "GET", data, ""); resp.StatusCode != 401 {
		t.Errorf("a session from before the token changed: %d", resp.StatusCode)
	}
	if resp, _ := send(t, c, "POST", base+"/dashboard/logout", ""); resp.StatusCode != 204 || resp.Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout: %d %v", resp.StatusCode, resp.Cookies())
	}
}

// TestDashboardData: the document shows the config version, the last
// reload's errors, each route's counts, rates and quantiles from the
// registry, and clusters with their targets; many viewers at once share
// one build.
func TestDashboardData(t *testing.T) {
	const yaml = `clusters:
  c1: {targets: [http://127.0.0.1:9]}
middleware:
  lim: {type: rate_limit, rate: 1, per: 1m}
routes:
  - {name: dash-r1, match: {path: /r1/*}, cluster: c1, middleware: [lim]}
  - {name: dash-idle, match: {path: /idle}, cluster: c1}
`
	run := newRunning(t, yaml)
	run.Version = 7
	gw := &fakeGateway{run: run, last: &ReloadReport{At: time.Now(), Trigger: "SIGHUP", Err: errors.Join(&config.Error{Pos: config.Pos{File: "f.yaml", Line: 3, Col: 5}, Path: "routes", Msg: "bad"})}}
	s, base, c := dashServer(t, gw)
	get := func() Dashboard {
		_, body := send(t, c, "GET", base+"/dashboard/data", "", "Authorization", "Bearer "+dashToken)
		return decode[Dashboard](t, body)
	}
	s.live.mu.Lock()
	s.live.interval = time.Millisecond
	s.live.mu.Unlock()

	first := get()
	if first.Config.Version != 7 || first.WindowSeconds != 0 || first.Routes[0].RPS != nil || first.LastReload == nil ||
		first.LastReload.OK || first.LastReload.Trigger != "SIGHUP" || len(first.LastReload.Errors) != 1 || first.LastReload.Errors[0].Line != 3 {
		t.Fatalf("first document: %+v", first)
	}
	m := run.Snapshot.Routes[0].Metrics
	for i := range 10 {
		status := 200
		if i == 0 {
			status = 502
		}
		m.Request([]byte("GET"), status, 3*time.Millisecond, 2*time.Millisecond, 40*time.Microsecond, 100, 200)
	}
	var v Dashboard
	deadline := time.Now().Add(5 * time.Second)
	for v = get(); v.WindowSeconds == 0 && time.Now().Before(deadline); v = get() {
	}
	r := v.Routes[0]
	if r.Name != "dash-r1" || r.Requests != 10 || r.RPS == nil || *r.RPS <= 0 || r.ErrorRate == nil || *r.ErrorRate != 0.1 ||
		r.Total.P50 == nil || *r.Total.P50 <= 2.5 || *r.Total.P50 > 5 || r.Upstream.P99 == nil || r.Overhead.P50 == nil || *r.Overhead.P50 > 0.05 {
		t.Errorf("route after traffic: %+v (window %v)", r, v.WindowSeconds)
	}
	if idle := v.Routes[1]; idle.Requests != 0 || idle.Total.P50 != nil || idle.ErrorRate != nil {
		t.Errorf("a route without traffic: %+v", idle)
	}
	if len(v.Clusters) != 1 || v.Clusters[0].Targets[0].Address != "127.0.0.1:9" || v.Clusters[0].Targets[0].Breaker != "closed" {
		t.Errorf("clusters: %+v", v.Clusters)
	}

	// One build serves every viewer within an interval.
	s.live.mu.Lock()
	s.live.interval = time.Hour
	s.live.body = nil
	before := s.live.builds
	s.live.mu.Unlock()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { get() })
	}
	wg.Wait()
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if n := s.live.builds - before; n != 1 {
		t.Errorf("20 viewers made %d builds, want 1", n)
	}
}

// BenchmarkDashboardBuild is the work done once per interval whatever the
// number of viewers: a registry read and the JSON document, for a config
// of 20 routes that all took traffic.
func BenchmarkDashboardBuild(b *testing.B) {
	var yaml strings.Builder
	yaml.WriteString("clusters:\n  c: {targets: [http://127.0.0.1:9]}\nroutes:\n")
	for i := range 20 {
		fmt.Fprintf(&yaml, "  - {name: bench-%d, match: {path: /b%d/*}, cluster: c}\n", i, i)
	}
	cfg, err := config.Parse("bench.yaml", []byte(yaml.String()))
	if err != nil {
		b.Fatal(err)
	}
	snap, err := pipeline.Build(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	for _, r := range snap.Routes {
		r.Metrics.Request([]byte("GET"), 200, time.Millisecond, time.Millisecond, time.Microsecond, 1, 1)
		r.Metrics.Request([]byte("POST"), 503, time.Millisecond, time.Millisecond, time.Microsecond, 1, 1)
	}
	s := New(Options{Gateway: &fakeGateway{run: &Running{Config: cfg, Snapshot: snap, LoadedAt: time.Now(), Version: 1}}})
	s.live.interval = time.Nanosecond
	b.ReportAllocs()
	for b.Loop() {
		s.live.get(s)
	}
}

// BenchmarkDashboardServeCached is what one more viewer costs per poll:
// the handler serving the shared document (net/http's connection work
// comes on top).
func BenchmarkDashboardServeCached(b *testing.B) {
	s := New(Options{Gateway: &fakeGateway{run: &Running{Config: &config.Config{}, Snapshot: &pipeline.Snapshot{}, LoadedAt: time.Now()}}})
	s.live.interval = time.Hour
	r := httptest.NewRequest("GET", "/dashboard/data", nil)
	r.Host = "127.0.0.1:9901"
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(httptest.NewRecorder(), r)
	}
}

// TestDashboardWithoutToken: without a token the page opens directly, but
// only under a loopback Host (DNS rebinding), and the reload still needs
// the CSRF header the data responses carry.
func TestDashboardWithoutToken(t *testing.T) {
	gw := &fakeGateway{run: newRunning(t, testYAML), reload: func() (*ReloadResult, error) { return &ReloadResult{Running: newRunning(t, testYAML)}, nil }}
	s := New(Options{Gateway: gw})
	code, _, body := do(t, s, "GET", "/dashboard/session", "")
	if st := decode[map[string]bool](t, body); code != 200 || st["token_required"] || !st["authenticated"] {
		t.Errorf("session: %d %s", code, body)
	}
	for _, path := range []string{"/dashboard", "/dashboard/data", "/"} {
		if code, _, _ := do(t, s, "GET", path, "", "Host", "rebind.evil.example"); code != 403 {
			t.Errorf("%s under a rebound Host: %d, want 403", path, code)
		}
	}
	code, h, _ := do(t, s, "GET", "/dashboard/data", "")
	csrf := h.Get(csrfHeader)
	if code != 200 || csrf == "" {
		t.Fatalf("data: %d, CSRF %q", code, csrf)
	}
	if code, _, _ := do(t, s, "POST", "/dashboard/reload", ""); code != 403 || gw.reloads != 0 {
		t.Errorf("reload without the CSRF header: %d, %d reloads", code, gw.reloads)
	}
	if code, _, body := do(t, s, "POST", "/dashboard/reload", "", csrfHeader, csrf); code != 200 || gw.reloads != 1 {
		t.Errorf("reload with it: %d %s", code, body)
	}
}
