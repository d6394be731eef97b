package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// scrape parses the default metric set in the Prometheus text format into
// series -> value, failing on any line that is not valid exposition.
func scrape(t *testing.T) map[string]float64 {
	t.Helper()
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	line := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)
	out := map[string]float64{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not Prometheus text format: %q", l)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("bad value in %q", l)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

// TestMetricsMoveWithTraffic: every per-route and per-cluster series the
// engine documents (docs/METRICS.md) moves when requests flow.
func TestMetricsMoveWithTraffic(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	g := startGateway(t, oneCluster(up.addr, "", `  - name: metered
    match: {path: /m/*}
    cluster: up
`), 1)
	before := scrape(t)
	c := &http.Client{}
	for range 5 {
		resp, _ := getJSON(t, c, mustRequest(t, "GET", g.url("/m/x")))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	resp, _ := getJSON(t, c, mustRequest(t, "GET", g.url("/nowhere")))
	if resp.StatusCode != 404 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Connection gauges are published by the sweep, a tick later.
	var after map[string]float64
	eventually(t, 3*time.Second, "the sweep publishing the connection gauges", func() bool {
		after = scrape(t)
		return after[`sluice_upstream_connections{cluster="up",state="idle"}`] >= 1 && after[`sluice_client_connections`] >= 1
	})
	moved := func(series string, atLeast float64) {
		t.Helper()
		if d := after[series] - before[series]; d < atLeast {
			t.Errorf("%s moved by %v, want >= %v", series, d, atLeast)
		}
	}
	moved(`sluice_requests_total{route="metered",method="GET",status="2xx"}`, 5)
	moved(`sluice_requests_total{route="",method="",status="4xx"}`, 1)
	moved(`sluice_request_duration_seconds_count{route="metered"}`, 5)
	moved(`sluice_upstream_duration_seconds_count{route="metered"}`, 5)
	moved(`sluice_gateway_overhead_seconds_count{route="metered"}`, 5)
	moved(`sluice_request_bytes_total{route="metered"}`, 5*20)
	moved(`sluice_response_bytes_total{route="metered"}`, 5*100)
	moved(`sluice_upstream_dials_total{cluster="up"}`, 1)
	moved(`sluice_upstream_requests_total{cluster="up",connection="new"}`, 1)
	moved(`sluice_upstream_requests_total{cluster="up",connection="reused"}`, 4)
	moved(`sluice_client_connections_accepted_total`, 1)
	if after[`sluice_upstream_connections{cluster="up",state="idle"}`] < 1 {
		t.Errorf("idle upstream connections gauge: %v", after[`sluice_upstream_connections{cluster="up",state="idle"}`])
	}
	if after[`sluice_client_connections`] < 1 {
		t.Errorf("client connections gauge: %v", after[`sluice_client_connections`])
	}
	// The overhead buckets are finer than the request ones: a proxied
	// request on loopback spends well under a millisecond in the gateway.
	if after[`sluice_gateway_overhead_seconds_bucket{route="metered",le="0.001"}`]-before[`sluice_gateway_overhead_seconds_bucket{route="metered",le="0.001"}`] < 1 {
		t.Errorf("no request had under 1ms of gateway overhead")
	}
}

// TestAccessLog: one line per request with the documented fields, in JSON
// and in the common log format; a hostile path cannot break a line.
func TestAccessLog(t *testing.T) {
	for _, format := range []string{"json", "clf"} {
		t.Run(format, func(t *testing.T) {
			up := startUpstream(t, echoHandler("a"))
			path := filepath.Join(t.TempDir(), "access.log")
			g := startGateway(t, oneCluster(up.addr, fmt.Sprintf("access_log: {path: %q, format: %s}\ntrusted_proxies: [127.0.0.1]", path, format), `  - name: logged
    match: {path: /l/*}
    cluster: up
`), 1)
			rc := dialRaw(t, g.addr)
			rc.send("GET /l/a%22b%20?q=1&access_token=s3cr3t-t0ken HTTP/1.1\r\nHost: x\r\nX-Request-ID: req-1\r\n\r\n")
			rc.readResponse("GET")
			// Behind a trusted proxy the logged client is the one it forwarded for.
			rc.send("GET /missing HTTP/1.1\r\nHost: x\r\nX-Request-ID: req-2\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n")
			rc.readResponse("GET")
			// A request the parser refuses is logged too, route empty.
			bad := dialRaw(t, g.addr)
			bad.send("GET /l/x?q=2 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
			bad.readResponse("GET")
			lines := waitLines(t, path, 3)
			if strings.Contains(strings.Join(lines, "\n"), "s3cr3t") {
				t.Errorf("a query secret reached the log:\n%s", strings.Join(lines, "\n"))
			}
			if format == "json" {
				var a, b map[string]any
				if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
					t.Fatalf("%q: %v", lines[0], err)
				}
				_ = json.Unmarshal([]byte(lines[1]), &b)
				for k, want := range map[string]any{"request_id": "req-1", "method": "GET", "path": "/l/a%22b%20", "query": "q=1&access_token=[redacted]", "status": 200.0, "route": "logged", "target": up.addr, "client_ip": "127.0.0.1"} {
					if a[k] != want {
						t.Errorf("%s = %v, want %v (line %s)", k, a[k], want, lines[0])
					}
				}
				if a["duration_ms"].(float64) <= 0 || a["bytes_out"].(float64) < 100 || a["bytes_in"].(float64) < 20 {
					t.Errorf("numbers: %s", lines[0])
				}
				if b["status"] != 404.0 || b["route"] != "" || b["request_id"] != "req-2" || b["client_ip"] != "203.0.113.7" || b["query"] != "" {
					t.Errorf("404 line: %s", lines[1])
				}
				var c map[string]any
				_ = json.Unmarshal([]byte(lines[2]), &c)
				if c["status"] != 400.0 || c["route"] != "" || c["method"] != "GET" || c["path"] != "/l/x" || c["query"] != "q=2" || c["client_ip"] != "127.0.0.1" || c["request_id"] == "" {
					t.Errorf("400 line: %s", lines[2])
				}
				return
			}
			re := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /l/a%22b%20\?q=1&access_token=\[redacted\] HTTP/1\.1" 200 \d+ "req-1" [\d.]+ [\d.]+ logged 127\.0\.0\.1:\d+$`)
			if !re.MatchString(lines[0]) {
				t.Errorf("clf line %q", lines[0])
			}
			if !strings.HasPrefix(lines[1], "203.0.113.7 ") || !strings.Contains(lines[1], `"GET /missing HTTP/1.1" 404 `) {
				t.Errorf("clf 404 line %q", lines[1])
			}
			if !strings.Contains(lines[2], `"GET /l/x?q=2 HTTP/1.1" 400 `) || !strings.HasSuffix(lines[2], " - -") {
				t.Errorf("clf 400 line %q", lines[2])
			}
		})
	}
}

// waitLines polls path until it holds n lines (the writer flushes every
// 200ms), for at most 3 seconds.
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var data []byte
	var lines []string
	if _, ok := waitUntil(3*time.Second, func() bool {
		data, _ = os.ReadFile(path)
		lines = strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		return len(data) > 0 && len(lines) >= n
	}); !ok {
		t.Fatalf("%s has %q, want %d lines", path, data, n)
	}
	return lines
}

// TestMiddlewareAndBreakerMetrics: a rate-limit rejection and a breaker
// opening show up in their documented series.
func TestMiddlewareAndBreakerMetrics(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	dead := freeAddr(t)
	cfg := fmt.Sprintf(`listen: "{{listen}}"
admin: ""
middleware:
  lim: {type: rate_limit, rate: 1, per: 1m}
clusters:
  up: {targets: ["http://%s"]}
  dead:
    targets: ["http://%s"]
    breaker: {consecutive_failures: 2}
    retries: {attempts: 1}
  ejecting:
    targets: ["http://%s"]
    breaker: {enabled: false}
    health: {eject_after: 2}
    retries: {attempts: 1}
  checked:
    targets: ["http://%s"]
    health: {path: /healthz, interval: 20ms, timeout: 20ms}
routes:
  - {name: limited, match: {path: /l/*}, cluster: up, middleware: [lim]}
  - {name: gone, match: {path: /d/*}, cluster: dead}
  - {name: ejected, match: {path: /e/*}, cluster: ejecting}
  - {name: healthy, match: {path: /h/*}, cluster: checked}
`, up.addr, dead, dead, up.addr)
	g := startGateway(t, cfg, 1)
	before := scrape(t)
	c := &http.Client{}
	for _, want := range []int{200, 429} {
		if resp, _ := getJSON(t, c, mustRequest(t, "GET", g.url("/l/x"))); resp.StatusCode != want {
			t.Fatalf("limited: %d, want %d", resp.StatusCode, want)
		}
	}
	for range 3 {
		getJSON(t, c, mustRequest(t, "GET", g.url("/d/x")))
		getJSON(t, c, mustRequest(t, "GET", g.url("/e/x")))
	}
	pass := fmt.Sprintf(`sluice_health_checks_total{cluster="checked",target=%q,result="pass"}`, up.addr)
	var after map[string]float64
	eventually(t, 3*time.Second, "a passing health check", func() bool {
		after = scrape(t)
		return after[pass]-before[pass] >= 1
	})
	for _, series := range []string{
		fmt.Sprintf(`sluice_upstream_ejections_total{cluster="ejecting",target=%q}`, dead),
		fmt.Sprintf(`sluice_health_checks_total{cluster="checked",target=%q,result="pass"}`, up.addr),
	} {
		if after[series]-before[series] < 1 {
			t.Errorf("%s did not move", series)
		}
	}
	rej := `sluice_middleware_rejections_total{route="limited",middleware="lim",type="rate_limit",status="429",reason="rate limit exceeded"}`
	if after[rej]-before[rej] != 1 {
		t.Errorf("%s moved by %v", rej, after[rej]-before[rej])
	}
	state := fmt.Sprintf(`sluice_breaker_state{cluster="dead",target=%q}`, dead)
	opened := fmt.Sprintf(`sluice_breaker_transitions_total{cluster="dead",target=%q,to="open"}`, dead)
	if after[state] != 2 || after[opened] < 1 {
		t.Errorf("breaker series: state %v, opened %v", after[state], after[opened])
	}
}
