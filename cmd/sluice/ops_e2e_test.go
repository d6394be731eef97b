package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/promtext"
)

// TestOperabilityThroughBinary runs the built gateway binary and checks
// what an operator sees: the command line (a stray argument is an error,
// -version prints), the admin API's DNS-rebinding guard and header-match
// redaction, /metrics typed and documented with request series only for
// what happened, the access log's query and parser-refused lines, a
// refused token's reason in a debug line and a metric, and operational
// logs as JSON without gnet's misleading level notice.
func TestOperabilityThroughBinary(t *testing.T) {
	bin := buildSluice(t)

	t.Run("stray argument", func(t *testing.T) {
		for _, args := range [][]string{{"version"}, {"-check", "extra"}} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			// Before the fix `sluice version` started the quickstart and
			// ran until this context killed it.
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			cancel()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("sluice %v: %v (want exit 2); stderr:\n%s", args, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), fmt.Sprintf("unexpected argument %q", args[len(args)-1])) || !strings.Contains(stderr.String(), "Usage: sluice") {
				t.Errorf("sluice %v: stderr lacks the error and usage:\n%s", args, stderr.String())
			}
		}
	})

	t.Run("-version", func(t *testing.T) {
		out, err := exec.Command(bin, "-version").Output()
		if err != nil {
			t.Fatalf("-version: %v", err)
		}
		line := strings.TrimSpace(string(out))
		if !strings.HasPrefix(line, "sluice ") || !strings.Contains(line, runtime.Version()) || strings.Count(line, "\n") != 0 {
			t.Errorf("-version printed %q, want one line with the version and %s", line, runtime.Version())
		}
	})

	up := newEchoUpstream(t, "up", 0)
	const jwtSecret = "operability-e2e-hmac-secret-0123456789abcdef"
	t.Setenv("SLUICE_OPS_JWT_SECRET", jwtSecret)
	dir := t.TempDir()
	accessPath := filepath.Join(dir, "access.log")
	listen, adminAddr := freeAddr(t), freeAddr(t)
	cfg := writeFile(t, fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 1, log_level: debug, log_format: json}
limits: {max_header_bytes: 2KiB, max_uri_bytes: 1KiB}
timeouts: {client_header: 300ms}
access_log: {path: %q, format: json}
clusters:
  up: {targets: [{url: %q}]}
middleware:
  auth: {type: jwt, algorithms: [HS256], secret_env: SLUICE_OPS_JWT_SECRET}
routes:
  - {name: open, match: {path: /open/*}, cluster: up}
  - {name: guarded, match: {path: /jwt/*}, cluster: up, middleware: [auth]}
  - name: origin
    match: {path: /origin/*, headers: {X-Origin-Verify: cdn-origin-5ecret-e2e}}
    cluster: up
`, listen, adminAddr, accessPath, up.URL))
	p := startSluice(t, bin, cfg)
	hc := &http.Client{Timeout: 5 * time.Second}
	adminURL := "http://" + adminAddr
	waitUntil(t, p, 20*time.Second, "/readyz 200", func() bool { c, _ := adminDo(hc, "GET", adminURL+"/readyz"); return c == 200 })
	waitUntil(t, p, 5*time.Second, "the listener", func() bool { return statusOf(hc, "http://"+listen+"/open/warm") == 200 })

	t.Run("admin Host check", func(t *testing.T) {
		for _, tc := range []struct {
			method, path, host string
			want               int
		}{
			{"GET", "/config", "rebind.evil.example:" + portOf(adminAddr), 403},
			{"GET", "/metrics", "rebind.evil.example", 403},
			{"GET", "/routes", "rebind.evil.example", 403},
			{"POST", "/reload", "rebind.evil.example:" + portOf(adminAddr), 403},
			{"GET", "/config", adminAddr, 200},
			{"GET", "/config", "localhost:" + portOf(adminAddr), 200},
			{"GET", "/routes", "[::1]:" + portOf(adminAddr), 200},
		} {
			req, _ := http.NewRequest(tc.method, adminURL+tc.path, nil)
			req.Host = tc.host
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s Host %s: %d, want %d: %s", tc.method, tc.path, tc.host, resp.StatusCode, tc.want, body)
			}
			if tc.want == 403 && (!json.Valid(body) || resp.Header.Get("Content-Type") != "application/json") {
				t.Errorf("403 is not JSON: %s", body)
			}
		}
	})

	t.Run("header-match secret redacted", func(t *testing.T) {
		if c := statusOf(hc, "http://"+listen+"/origin/x"); c != 404 {
			t.Errorf("/origin/x without the header: %d, want 404", c)
		}
		for _, path := range []string{"/config", "/routes"} {
			code, body := adminDo(hc, "GET", adminURL+path)
			if code != 200 || strings.Contains(body, "cdn-origin-5ecret-e2e") || !strings.Contains(body, `"X-Origin-Verify": "[redacted]"`) {
				t.Errorf("GET %s: %d, secret shown or header name missing:\n%s", path, code, body)
			}
		}
	})

	// Traffic for the access log and the metrics.
	if c := statusOf(hc, "http://"+listen+"/open/a?q=1&access_token=l0gged-s3cret"); c != 200 {
		t.Fatalf("/open/a: %d", c)
	}
	badToken := hs256(t, "a-different-secret-than-the-gateways-0123456789", `{"sub":"u","exp":4102444800}`)
	req, _ := http.NewRequest("GET", "http://"+listen+"/jwt/x", nil)
	req.Header.Set("Authorization", "Bearer "+badToken)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), `"Invalid token"`) {
		t.Fatalf("bad token: %d %s", resp.StatusCode, body)
	}
	refused := []struct {
		status int
		send   string
	}{
		{400, "GET /open/bad?x=1 HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n"},
		{414, "GET /open/" + strings.Repeat("u", 1100) + " HTTP/1.1\r\nHost: a\r\n\r\n"},
		{431, "GET /open/big?y=2 HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("h", 2100) + "\r\n\r\n"},
		{408, "GET /open/slow HTTP/1.1\r\nHost: a\r\n"}, // never finishes its head
	}
	for _, r := range refused {
		if got := rawStatus(t, listen, r.send); got != r.status {
			t.Errorf("refused request %d: got %d", r.status, got)
		}
	}

	t.Run("access log", func(t *testing.T) {
		var lines []map[string]any
		waitUntil(t, p, 5*time.Second, "the access-log lines", func() bool {
			lines = readJSONLines(t, accessPath)
			n := 0
			for _, l := range lines {
				if l["route"] == "" {
					n++
				}
			}
			return n >= len(refused)+1 // and the 404 of /origin/x
		})
		all, _ := os.ReadFile(accessPath)
		if strings.Contains(string(all), "l0gged-s3cret") {
			t.Errorf("a query secret reached the access log:\n%s", all)
		}
		find := func(pred func(map[string]any) bool) map[string]any {
			for _, l := range lines {
				if pred(l) {
					return l
				}
			}
			return nil
		}
		if l := find(func(l map[string]any) bool { return l["path"] == "/open/a" }); l == nil || l["query"] != "q=1&access_token=[redacted]" || l["route"] != "open" {
			t.Errorf("the /open/a line: %v", l)
		}
		for _, r := range refused {
			l := find(func(l map[string]any) bool { return l["status"] == float64(r.status) && l["route"] == "" })
			if l == nil {
				t.Errorf("no access-log line for the %d:\n%s", r.status, all)
				continue
			}
			if l["request_id"] == "" || l["client_ip"] != "127.0.0.1" || l["target"] != "" {
				t.Errorf("%d line: %v", r.status, l)
			}
		}
		if l := find(func(l map[string]any) bool { return l["status"] == 400.0 && l["route"] == "" }); l != nil && (l["path"] != "/open/bad" || l["query"] != "x=1" || l["method"] != "GET") {
			t.Errorf("the 400 line lacks what parsed: %v", l)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := hc.Get(adminURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fams, err := promtext.Parse(bytes.NewReader(text))
		if err != nil {
			t.Fatalf("/metrics does not parse strictly: %v", err)
		}
		for _, name := range []string{"sluice_requests_total", "sluice_request_duration_seconds", "sluice_client_connections", "sluice_jwt_rejections_total", "go_goroutines", "process_resident_memory_bytes"} {
			if fams[name] == nil {
				t.Errorf("no family %s", name)
			}
		}
		reqs := fams["sluice_requests_total"].Samples
		var open []string
		for s := range reqs {
			if strings.Contains(s, `route="open"`) {
				open = append(open, s)
			}
			if strings.Contains(s, `route="origin"`) {
				t.Errorf("a series for a route nobody reached: %s", s)
			}
		}
		if len(open) != 1 || reqs[`sluice_requests_total{route="open",method="GET",status="2xx"}`] < 2 {
			t.Errorf("route open: want only its GET/2xx series, got %v", open)
		}
		if n := reqs[`sluice_requests_total{route="",method="",status="4xx"}`]; n < float64(len(refused)+1) {
			t.Errorf("unrouted 4xx = %v, want >= %d", n, len(refused)+1)
		}
		if n := fams["sluice_jwt_rejections_total"].Samples[`sluice_jwt_rejections_total{middleware="auth",reason="bad_signature"}`]; n != 1 {
			t.Errorf("sluice_jwt_rejections_total{reason=bad_signature} = %v, want 1", n)
		}
	})

	// Stop it so its log is complete, then read that log.
	p.signal(t, syscall.SIGTERM)
	p.waitExit(t, 15*time.Second)
	t.Run("operational log", func(t *testing.T) {
		logs := p.logs.String()
		if strings.Contains(logs, "default logging level") {
			t.Errorf("gnet's level notice reached the log:\n%s", logs)
		}
		var sawReject, sawListening bool
		sc := bufio.NewScanner(strings.NewReader(logs))
		for sc.Scan() {
			var l map[string]any
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			switch l["msg"] {
			case "jwt token rejected":
				sawReject = l["level"] == "DEBUG" && l["reason"] == "bad_signature" && l["middleware"] == "auth" && l["route"] == "guarded"
			case "sluice listening":
				sawListening = true
			}
		}
		if !sawReject || !sawListening {
			t.Errorf("want a debug line with the token's reason and the listening line:\n%s", logs)
		}
	})
}

// portOf is the port of host:port.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// rawStatus sends raw bytes on a new connection and returns the status of
// the answer (0 if none came within 5 s).
func rawStatus(t *testing.T, addr, send string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, send); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// readJSONLines parses every complete line of path as a JSON object.
func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, _ := os.ReadFile(path)
	var out []map[string]any
	for line := range strings.SplitSeq(string(data), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("access-log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// hs256 signs claims (JSON) with secret as a compact HS256 JWS.
func hs256(t *testing.T, secret, claims string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + enc.EncodeToString(m.Sum(nil))
}
