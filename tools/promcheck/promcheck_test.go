package promcheck

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startGateway builds cmd/sluice from the parent module and runs it on cfg
// until the test ends.
func startGateway(t *testing.T, cfg, admin string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", file)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get("http://" + admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not get ready in 20 s")
		}
		time.Sleep(20 * time.Millisecond) // polling a process we started
	}
}

// TestMetricsParseWithPrometheusParser: after traffic of every kind, the
// exposition parses with expfmt's text parser; every family has a HELP
// text and a TYPE (the parser makes a family without one untyped), every
// counter's name ends in _total as promtool's lint asks; a configured
// route that took no request has no series, and one that only answered
// GET 2xx has one request series, not 48.
func TestMetricsParseWithPrometheusParser(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer up.Close()
	listen, admin := freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`listen: %q
admin: %q
access_log: {enabled: false}
clusters:
  up: {targets: [%q]}
middleware:
  lim: {type: rate_limit, rate: 1, per: 1m}
routes:
  - {name: used, match: {path: /used}, cluster: up}
  - {name: limited, match: {path: /limited}, cluster: up, middleware: [lim]}
  - {name: never, match: {path: /never}, cluster: up}
`, listen, admin, up.URL), admin)

	for path, n := range map[string]int{"/used": 3, "/limited": 2, "/nowhere": 1} {
		for range n {
			resp, err := http.Get("http://" + listen + path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the Prometheus text parser refused /metrics: %v", err)
	}
	if len(fams) < 30 {
		t.Fatalf("only %d families", len(fams))
	}
	for name, f := range fams {
		if f.GetHelp() == "" {
			t.Errorf("%s: no HELP", name)
		}
		if f.GetType() == dto.MetricType_UNTYPED {
			t.Errorf("%s: no TYPE (parsed as untyped)", name)
		}
		if f.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
	}

	series := func(family, route string) (n int) {
		for _, m := range fams[family].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					n++
				}
			}
		}
		return n
	}
	for _, fam := range []string{"sluice_requests_total", "sluice_request_duration_seconds", "sluice_gateway_overhead_seconds", "sluice_upstream_duration_seconds", "sluice_request_bytes_total"} {
		if n := series(fam, "never"); n != 0 {
			t.Errorf("%s has %d series for a route that took no request", fam, n)
		}
		if n := series(fam, "used"); n != 1 {
			t.Errorf("%s has %d series for route used, want 1", fam, n)
		}
	}
	if n := series("sluice_middleware_rejections_total", "limited"); n != 1 {
		t.Errorf("rate-limit rejections of route limited: %d series, want 1", n)
	}
	if fams["sluice_upstream_target_connections"] == nil {
		t.Error("no per-target connection gauge")
	}
}
