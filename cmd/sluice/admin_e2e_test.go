package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/admin"
)

// freeAddr returns a 127.0.0.1 address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// adminClient talks to the admin API with the bearer token.
type adminClient struct {
	t     *testing.T
	base  string
	token string
	c     *http.Client
}

func (a *adminClient) do(method, path, token string) (int, string) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *adminClient) get(path string) (int, string) { return a.do("GET", path, a.token) }

// TestAdminAPIEndToEnd runs the gateway in-process with an admin listener
// and a token: every endpoint answers, /config hides the secrets, POST
// /reload installs a changed file (new route answers, restart-only keys
// reported) and refuses a broken one with file:line:column (old routes
// still answer), and SIGTERM fails /readyz while a slow request drains,
// then exits 0 and closes the admin listener.
func TestAdminAPIEndToEnd(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "up:"+r.URL.Path)
	}))
	defer up.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	const token = "e2e-admin-token-0123456789"
	t.Setenv("SLUICE_E2E_ADMIN_TOKEN", token)
	const keyHash = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"
	listen, adminAddr := freeAddr(t), freeAddr(t)
	cfgFor := func(loops int, routes string) string {
		return fmt.Sprintf(`listen: %q
admin: %q
admin_token_env: SLUICE_E2E_ADMIN_TOKEN
server: {loops: %d, drain_timeout: 10s}
access_log: {enabled: false}
clusters:
  up: {targets: [{url: %q}]}
middleware:
  keys:
    type: api_key
    consumers: [{id: app, key_sha256: %s}]
routes:
  - {name: a, match: {path: /a/*}, cluster: up}
  - {name: keyed, match: {path: /keyed/*}, cluster: up, middleware: [keys]}
%s`, listen, adminAddr, loops, up.URL, keyHash, routes)
	}
	file := writeFile(t, cfgFor(1, ""))

	var logs syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", file}, &logs) }()
	stopped := false
	defer func() {
		if !stopped {
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			<-code
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second}
	a := &adminClient{t: t, base: "http://" + adminAddr, token: token, c: client}
	get := func(path string) int { return statusOf(client, "http://"+listen+path) }
	waitFor(t, &logs, "/readyz 200", func() bool { c, _ := a.get("/readyz"); return c == 200 })
	waitFor(t, &logs, "the first config", func() bool { return get("/a/x") == 200 })

	// Token: /healthz without it, everything else needs it.
	if c, body := a.do("GET", "/healthz", ""); c != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz without token: %d %s", c, body)
	}
	for _, p := range []string{"/readyz", "/routes", "/config", "/metrics"} {
		if c, _ := a.do("GET", p, ""); c != 401 {
			t.Errorf("%s without the token: %d, want 401", p, c)
		}
		if c, _ := a.do("GET", p, "wrong-token-0123456789abc"); c != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", p, c)
		}
	}

	// Views.
	var routes struct {
		Routes []struct {
			Name, Cluster string
			Middleware    []string
			Match         struct{ Path string }
		}
	}
	c, body := a.get("/routes")
	if err := json.Unmarshal([]byte(body), &routes); c != 200 || err != nil || len(routes.Routes) != 2 ||
		routes.Routes[1].Name != "keyed" || routes.Routes[1].Match.Path != "/keyed/*" || fmt.Sprint(routes.Routes[1].Middleware) != "[keys]" {
		t.Errorf("/routes: %d %v\n%s", c, err, body)
	}
	upAddr := strings.TrimPrefix(up.URL, "http://")
	c, body = a.get("/clusters")
	for _, want := range []string{`"name": "up"`, `"address": "` + upAddr + `"`, `"healthy": true`, `"breaker": "closed"`, `"in_flight": 0`} {
		if c != 200 || !strings.Contains(body, want) {
			t.Errorf("/clusters lacks %s: %d\n%s", want, c, body)
		}
	}
	c, body = a.get("/config")
	if c != 200 || strings.Contains(body, keyHash) || strings.Contains(body, token) || !strings.Contains(body, `"key_sha256": "[redacted]"`) ||
		!strings.Contains(body, `"file": "`+file+`"`) {
		t.Errorf("/config: %d\n%s", c, body)
	}

	// A good reload: a new route serves; server.loops needs a restart.
	if err := os.WriteFile(file, []byte(cfgFor(2, "  - {name: b, match: {path: /b/*}, cluster: up}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, body = a.do("POST", "/reload", token)
	var ok struct {
		Status          string
		RestartRequired []string `json:"restart_required"`
		Config          struct{ Routes int }
	}
	if err := json.Unmarshal([]byte(body), &ok); c != 200 || err != nil || ok.Status != "reloaded" || ok.Config.Routes != 3 ||
		fmt.Sprint(ok.RestartRequired) != "[server.loops]" {
		t.Fatalf("POST /reload: %d %v\n%s", c, err, body)
	}
	if st := get("/b/x"); st != 200 {
		t.Errorf("new route after reload: %d", st)
	}
	if _, body := a.get("/config"); !strings.Contains(body, `"loops": 1`) {
		t.Errorf("/config after a reload must show the loops in force (1):\n%s", body)
	}

	// A broken reload: 422 with positions; the old routes keep serving.
	broken := strings.Replace(cfgFor(1, "  - {name: c, match: {path: /c/*}, cluster: nope}\n"), "drain_timeout: 10s", "drain_timeout: 10s, bogus: 1", 1)
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	c, body = a.do("POST", "/reload", token)
	var bad struct {
		Error  string
		Errors []struct {
			File         string
			Line, Column int
			Text         string
		}
	}
	if err := json.Unmarshal([]byte(body), &bad); c != 422 || err != nil || len(bad.Errors) != 2 {
		t.Fatalf("broken POST /reload: %d %v\n%s", c, err, body)
	}
	if e := bad.Errors[0]; e.File != file || e.Line != 4 || e.Column == 0 || !strings.HasPrefix(e.Text, fmt.Sprintf("%s:4:%d: server.bogus: ", file, e.Column)) {
		t.Errorf("first error: %+v", e)
	}
	if e := bad.Errors[1]; e.Line != 15 || !strings.Contains(e.Text, `unknown cluster "nope"`) {
		t.Errorf("second error: %+v", e)
	}
	if !strings.Contains(logs.String(), "reload failed") || !strings.Contains(logs.String(), file+":15:") {
		t.Errorf("the failure is not logged with its position:\n%s", logs.String())
	}
	if get("/b/x") != 200 || get("/a/x") != 200 || get("/c/x") != 404 {
		t.Error("after a failed reload the previous config must keep serving")
	}

	// Metrics: the reload counters and gauges.
	c, body = a.get("/metrics")
	for _, want := range []string{`sluice_config_reloads_total{result="success"}`, `sluice_config_reloads_total{result="failure"}`,
		"sluice_config_last_reload_successful 0", "sluice_config_last_reload_success_timestamp_seconds "} {
		if c != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Drain: a slow request is in flight; SIGTERM fails /readyz while the
	// admin API stays up; the request completes; exit 0.
	slow := make(chan int, 1)
	go func() { slow <- get("/a/slow") }()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the slow request did not reach the upstream")
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	stopped = true
	waitFor(t, &logs, "/readyz 503 while draining", func() bool { c, _ := a.get("/readyz"); return c == 503 })
	if c, body := a.get("/readyz"); c != 503 || !strings.Contains(body, "draining") {
		t.Errorf("/readyz during the drain: %d %s", c, body)
	}
	if c, _ := a.get("/healthz"); c != 200 {
		t.Errorf("/healthz during the drain: %d", c)
	}
	close(release)
	if st := <-slow; st != 200 {
		t.Errorf("the request in flight during the drain got %d", st)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d; log:\n%s", c, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not stop")
	}
	if _, err := net.DialTimeout("tcp", adminAddr, time.Second); err == nil {
		t.Error("the admin listener is still open after exit")
	}
}

// TestAdminTokenEnvMissing: a config that names an unset token variable
// does not start, with the key's position.
func TestAdminTokenEnvMissing(t *testing.T) {
	file := writeFile(t, `listen: 127.0.0.1:18998
admin_token_env: SLUICE_TEST_SURELY_UNSET_VAR
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
routes:
  - {name: r, match: {path: /x}, cluster: a}
`)
	var out bytes.Buffer
	if c := run([]string{"-check", "-config", file}, &out); c != 1 ||
		!strings.Contains(out.String(), file+":2:18: admin_token_env: environment variable SLUICE_TEST_SURELY_UNSET_VAR is not set") {
		t.Errorf("exit %d:\n%s", c, out.String())
	}
}

// TestReloadWithoutFile: the embedded quickstart has nothing to reload.
func TestReloadWithoutFile(t *testing.T) {
	fs, f := newFlags(io.Discard)
	fs.Parse(nil)
	f.record(fs)
	g := &gateway{f: f}
	if _, err := g.install(); !errors.Is(err, admin.ErrNothingToReload) || !strings.Contains(err.Error(), "embedded quickstart") {
		t.Errorf("got %v", err)
	}
}

// TestShutdownDelayKeepsServing: with -shutdown-delay, SIGTERM fails
// /readyz while requests are still served; a second SIGTERM ends the
// delay and the gateway exits 0 without waiting for it.
func TestShutdownDelayKeepsServing(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") }))
	defer up.Close()
	listen, adminAddr := freeAddr(t), freeAddr(t)
	file := writeFile(t, fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 1}
access_log: {enabled: false}
clusters:
  up: {targets: [{url: %q}]}
routes:
  - {name: a, match: {path: /a/*}, cluster: up}
`, listen, adminAddr, up.URL))
	var logs syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", file, "-shutdown-delay", "1m"}, &logs) }()
	client := &http.Client{Timeout: 5 * time.Second}
	a := &adminClient{t: t, base: "http://" + adminAddr, c: client}
	get := func() int { return statusOf(client, "http://"+listen+"/a/x") }
	waitFor(t, &logs, "ready", func() bool { c, _ := a.get("/readyz"); return c == 200 && get() == 200 })
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	waitFor(t, &logs, "/readyz 503", func() bool { c, _ := a.get("/readyz"); return c == 503 })
	if st := get(); st != 200 {
		t.Errorf("during the shutdown delay a request got %d; it must still be served", st)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; log:\n%s", c, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second SIGTERM did not cut the delay short")
	}
	if !strings.Contains(logs.String(), "second signal") {
		t.Errorf("log:\n%s", logs.String())
	}
}
