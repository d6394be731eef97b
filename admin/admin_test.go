package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/sluicehq/sluice/config"
)

// TestEndpoints pins each endpoint's status and JSON shape, without a token.
func TestEndpoints(t *testing.T) {
	gw := &fakeGateway{run: newRunning(t, testYAML)}
	metrics.GetOrCreateCounter(`sluice_admin_test_total`).Inc()
	s := New(Options{Gateway: gw})
	cases := []struct {
		name, method, path string
		status             int
		want               []string // substrings of the body
		hdr                []string // request headers
	}{
		{"liveness", "GET", "/healthz", 200, []string{`"status": "ok"`}, nil},
		{"liveness HEAD", "HEAD", "/healthz", 200, nil, nil},
		{"ready", "GET", "/readyz", 200, []string{`"status": "ready"`}, nil},
		{"routes in config order, methods upper-cased, header values redacted", "GET", "/routes", 200, []string{
			`"name": "users"`, `"path": "/api/users/*"`, `"GET"`, `"POST"`, `"cluster": "users"`, `"strip_prefix": "/api"`,
			`"middleware": [`, `"keys"`, `"X-Internal-Token": "[redacted]"`, `"X-Version": "[redacted]"`, `"X-Origin-Verify": "[redacted]"`, `"name": "plain"`, `"methods": []`,
		}, nil},
		{"clusters sorted, breaker state or off", "GET", "/clusters", 200, []string{
			`"name": "plain"`, `"breaker": "off"`, `"name": "users"`, `"balancer": "least_request"`,
			`"address": "127.0.0.1:9002"`, `"weight": 2`, `"breaker": "closed"`, `"healthy": true`, `"in_flight": 0`, `"ejections": 0`,
			`"retries": {`,
		}, nil},
		{"config with defaults, in struct order", "GET", "/config", 200, []string{
			`"file": "sluice.yaml"`, `"loaded_at": "2025-01-02T03:04:05Z"`, `"routes": 2`, `"clusters": 2`, `"middleware": 2`,
			`"listen": "127.0.0.1:18080"`, `"drain_timeout": "30s"`, `"read_buffer": "64KiB"`, `"type": "api_key"`, `"id": "mobile-app"`,
			`"header": "X-API-Key"`, `"algorithms": [`,
		}, nil},
		{"metrics in Prometheus text", "GET", "/metrics", 200, []string{"sluice_admin_test_total 1", "go_goroutines"}, nil},
		{"unknown path", "GET", "/nope", 404, []string{`"error": "no such admin endpoint"`}, nil},
		{"pprof is off by default", "GET", "/debug/pprof/", 404, nil, nil},
		{"read endpoints are GET only", "POST", "/routes", 405, []string{`"error": "method not allowed; use GET"`}, nil},
		{"reload is POST only", "GET", "/reload", 405, []string{"use POST"}, nil},
		{"cross-site POST refused (CSRF)", "POST", "/reload", 403, []string{"cross-origin"}, []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, h, body := do(t, s, tc.method, tc.path, "", tc.hdr...)
			if code != tc.status {
				t.Fatalf("status %d, want %d:\n%s", code, tc.status, body)
			}
			containsAll(t, body, tc.want...)
			if ct := h.Get("Content-Type"); tc.path != "/metrics" && tc.status != 404 && tc.method != "HEAD" && ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == 405 && h.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	if gw.reloads != 0 {
		t.Errorf("a refused request reached Reload %d times", gw.reloads)
	}
}

// TestConfigHidesSecrets: nothing secret in the config reaches /config,
// whatever key it is under.
func TestConfigHidesSecrets(t *testing.T) {
	gw := &fakeGateway{run: newRunning(t, testYAML)}
	_, _, body := do(t, New(Options{Gateway: gw}), "GET", "/config", "")
	for _, secret := range []string{keyHash, "hunter2", "cdn-shared-5ecret-value", "JWT_SECRET_VAR_NAME", "ADMIN_TEST_TOKEN_VAR"} {
		if strings.Contains(body, secret) {
			t.Errorf("/config shows %q:\n%s", secret, body)
		}
	}
	// A header match value is hidden under any header name; the names stay.
	containsAll(t, body, `"X-Origin-Verify": "[redacted]"`, `"X-Version": "[redacted]"`)
	containsAll(t, body, `"key_sha256": "[redacted]"`, `"secret_env": "[redacted]"`, `"admin_token_env": "[redacted]"`,
		`"secret_file": ""`, `"keep_authorization": false`)
	decode[map[string]any](t, body)
}

// TestToken: with a token, everything but /healthz needs it; compared
// exactly; SetToken swaps it at once.
func TestToken(t *testing.T) {
	const tok = "0123456789abcdef-admin"
	gw := &fakeGateway{run: newRunning(t, testYAML)}
	s := New(Options{Gateway: gw, Token: tok})
	cases := []struct {
		name, path, auth string
		status           int
	}{
		{"healthz needs no token", "/healthz", "", 200},
		{"readyz without", "/readyz", "", 401},
		{"config without", "/config", "", 401},
		{"metrics without", "/metrics", "", 401},
		{"unknown path without: 401, not 404", "/nope", "", 401},
		{"wrong token", "/routes", "Bearer 0123456789abcdef-admiN", 401},
		{"token prefix", "/routes", "Bearer 0123456789abcdef", 401},
		{"token plus more", "/routes", "Bearer " + tok + "x", 401},
		{"basic scheme", "/routes", "Basic " + tok, 401},
		{"empty bearer", "/routes", "Bearer ", 401},
		{"right token", "/routes", "Bearer " + tok, 200},
		{"scheme is case-insensitive", "/clusters", "bearer " + tok, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			code, h, body := do(t, s, "GET", tc.path, "", hdr...)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, body)
			}
			if code == 401 {
				containsAll(t, body, `"error": "unauthorized`)
				if h.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
		})
	}
	s.SetToken("another-token-0123456789")
	if code, _, _ := do(t, s, "GET", "/routes", tok); code != 401 {
		t.Errorf("old token after SetToken: %d", code)
	}
	if code, _, _ := do(t, s, "GET", "/routes", "another-token-0123456789"); code != 200 {
		t.Errorf("new token after SetToken: %d", code)
	}
	s.SetToken("")
	if code, _, _ := do(t, s, "GET", "/routes", ""); code != 200 {
		t.Errorf("no token after SetToken(\"\"): %d", code)
	}
}

// TestReadyzNotReady: 503 with the reason.
func TestReadyzNotReady(t *testing.T) {
	gw := &fakeGateway{run: newRunning(t, testYAML), ready: errors.New("draining")}
	code, _, body := do(t, New(Options{Gateway: gw}), "GET", "/readyz", "")
	if code != 503 {
		t.Fatalf("status %d", code)
	}
	v := decode[map[string]string](t, body)
	if v["status"] != "not ready" || v["reason"] != "draining" {
		t.Errorf("got %v", v)
	}
}

// TestReloadAnswers pins POST /reload's JSON: the summary and restart
// keys on success; every error with file:line:column on a bad config.
func TestReloadAnswers(t *testing.T) {
	run := newRunning(t, testYAML)
	_, parseErr := config.Parse("/etc/sluice.yaml", []byte("listen: nope\nroutes:\n  - {name: r, match: {path: /x}, cluster: gone}\n"))
	if parseErr == nil {
		t.Fatal("the broken config parsed")
	}
	type item struct {
		File         string
		Line, Column int
		Path, Text   string
	}
	type answer struct {
		Status          string
		Error           string
		Errors          []item
		RestartRequired []string `json:"restart_required"`
		Config          struct{ File string }
	}
	cases := []struct {
		name   string
		result *ReloadResult
		err    error
		status int
		check  func(t *testing.T, a answer, body string)
	}{
		{"success", &ReloadResult{Running: run}, nil, 200, func(t *testing.T, a answer, body string) {
			if a.Status != "reloaded" || a.Config.File != "sluice.yaml" || a.RestartRequired == nil || len(a.RestartRequired) != 0 {
				t.Errorf("got %+v", a)
			}
			containsAll(t, body, `"restart_required": []`, `"routes": 2`)
		}},
		{"success with keys that need a restart", &ReloadResult{Running: run, RestartRequired: []string{"listen", "server.loops"}}, nil, 200,
			func(t *testing.T, a answer, _ string) {
				if fmt.Sprint(a.RestartRequired) != "[listen server.loops]" {
					t.Errorf("got %+v", a)
				}
			}},
		{"config errors, each with its position", nil, parseErr, 422, func(t *testing.T, a answer, _ string) {
			if len(a.Errors) != 2 || !strings.HasPrefix(a.Error, "config rejected; still serving the previous config: /etc/sluice.yaml:1:9: listen:") {
				t.Fatalf("got %+v", a)
			}
			e := a.Errors[0]
			if e.File != "/etc/sluice.yaml" || e.Line != 1 || e.Column != 9 || e.Path != "listen" || !strings.HasPrefix(e.Text, "/etc/sluice.yaml:1:9: listen: ") {
				t.Errorf("first error %+v", e)
			}
			if e := a.Errors[1]; e.Line != 3 || e.Path != "routes[0].cluster" {
				t.Errorf("second error %+v", e)
			}
		}},
		{"a wrapped config error keeps its position", nil, fmt.Errorf("reload: %w", parseErr), 422, func(t *testing.T, a answer, _ string) {
			if len(a.Errors) != 2 || a.Errors[0].Line != 1 {
				t.Errorf("got %+v", a)
			}
		}},
		{"other errors are text", nil, errors.New("sluice.yaml:3:5: routes[0] \"r\": conflicting route\nsecond line"), 422, func(t *testing.T, a answer, _ string) {
			if len(a.Errors) != 2 || a.Errors[0].Text != `sluice.yaml:3:5: routes[0] "r": conflicting route` || a.Errors[0].Line != 0 {
				t.Errorf("got %+v", a)
			}
		}},
		{"no file to reload", nil, fmt.Errorf("%w: running the embedded quickstart", ErrNothingToReload), 409, func(t *testing.T, a answer, _ string) {
			if !strings.Contains(a.Error, "embedded quickstart") {
				t.Errorf("got %+v", a)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := &fakeGateway{run: run, reload: func() (*ReloadResult, error) { return tc.result, tc.err }}
			code, _, body := do(t, New(Options{Gateway: gw}), "POST", "/reload", "")
			if code != tc.status {
				t.Fatalf("status %d, want %d:\n%s", code, tc.status, body)
			}
			tc.check(t, decode[answer](t, body), body)
		})
	}
}

// TestPprofFlag: the profiles are served only when asked for, and behind
// the token.
func TestPprofFlag(t *testing.T) {
	gw := &fakeGateway{run: newRunning(t, testYAML)}
	s := New(Options{Gateway: gw, Pprof: true, Token: "0123456789abcdef"})
	if code, _, _ := do(t, s, "GET", "/debug/pprof/", ""); code != 401 {
		t.Errorf("pprof without the token: %d", code)
	}
	code, _, body := do(t, s, "GET", "/debug/pprof/", "0123456789abcdef")
	if code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index: %d\n%.200s", code, body)
	}
	if code, _, _ := do(t, s, "GET", "/debug/pprof/goroutine?debug=1", "0123456789abcdef"); code != 200 {
		t.Errorf("goroutine profile: %d", code)
	}
}

// TestStartClose serves on a real loopback listener and stops.
func TestStartClose(t *testing.T) {
	s := New(Options{Gateway: &fakeGateway{run: newRunning(t, testYAML)}})
	addr, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "ok") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("http://" + addr.String() + "/healthz"); err == nil {
		t.Error("still serving after Close")
	}
	if _, err := New(Options{}).Start("127.0.0.1:bad"); err == nil {
		t.Error("Start on a bad address succeeded")
	}
}
