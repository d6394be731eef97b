package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

const dashTestToken = "dashboard-e2e-token-0123456789"

// dashGateway is the gateway run in-process (run) with an admin token, in
// front of two real upstreams: shop, which a test may kill, and catalog.
type dashGateway struct {
	// prefix starts every route name: the metrics registry is the
	// process's, so each test names its routes apart.
	prefix              string
	listen, admin, file string
	shop, catalog       *httptest.Server
	logs                *syncBuffer
	client              *http.Client
}

// dashConfig is the gateway's config; extra is appended to the routes.
func (g *dashGateway) config(extra string) string {
	return fmt.Sprintf(`listen: %q
admin: %q
admin_token_env: SLUICE_DASH_E2E_TOKEN
access_log: {enabled: false}
clusters:
  shop:
    targets: [{url: %q}]
    breaker: {consecutive_failures: 3, recovery_timeout: 1h}
    retries: {attempts: 1}
  catalog:
    targets: [{url: %q}]
middleware:
  tight: {type: rate_limit, rate: 1, per: 1m}
routes:
  - {name: %[5]sorders, match: {path: /orders/*}, cluster: shop}
  - {name: %[5]sproducts, match: {path: /products/*, methods: [GET]}, cluster: catalog}
  - {name: %[5]ssearch, match: {path: /search}, cluster: catalog, middleware: [tight]}
%[6]s`, g.listen, g.admin, g.shop.URL, g.catalog.URL, g.prefix, extra)
}

// startDashGateway runs the gateway until the test ends (SIGTERM).
func startDashGateway(t *testing.T, prefix string) *dashGateway {
	t.Helper()
	t.Setenv("SLUICE_DASH_E2E_TOKEN", dashTestToken)
	answer := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name+":"+r.URL.Path) })
	}
	g := &dashGateway{
		prefix: prefix, listen: freeAddr(t), admin: freeAddr(t),
		shop: httptest.NewServer(answer("shop")), catalog: httptest.NewServer(answer("catalog")),
		logs: &syncBuffer{}, client: &http.Client{Timeout: 5 * time.Second},
	}
	t.Cleanup(g.shop.Close)
	t.Cleanup(g.catalog.Close)
	g.file = writeFile(t, g.config(""))
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", g.file, "-loops", "1"}, g.logs) }()
	t.Cleanup(func() {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		if c := <-code; c != 0 {
			t.Errorf("gateway exited %d; log:\n%s", c, g.logs.String())
		}
	})
	waitFor(t, g.logs, "the gateway", func() bool { return g.get("/products/1") == 200 })
	return g
}

// get sends one request through the gateway and returns its status.
func (g *dashGateway) get(path string) int { return statusOf(g.client, "http://"+g.listen+path) }

// traffic sends n requests to path and fails unless each got want.
func (g *dashGateway) traffic(t *testing.T, path string, n, want int) {
	t.Helper()
	for range n {
		if st := g.get(path); st != want {
			t.Fatalf("GET %s: %d, want %d", path, st, want)
		}
	}
}

// adminCmd runs `sluice NAME -admin ADDR` and returns its exit code and
// output.
func (g *dashGateway) adminCmd(name string) (int, string, string) {
	var out, errb bytes.Buffer
	code := adminView(name, []string{"-admin", g.admin}, &out, &errb)
	return code, out.String(), errb.String()
}

// row returns the fields of the table line that starts with first.
func row(table, first string) []string {
	for line := range strings.Lines(table) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			return f
		}
	}
	return nil
}

// TestStatusAndRoutesCommands: `sluice routes` and `sluice status` print
// the live views of a real gateway as tables: request counts, error and
// rate-limit figures per route; targets with health and breaker; the
// config version and a rejected reload with its position.
func TestStatusAndRoutesCommands(t *testing.T) {
	g := startDashGateway(t, "cli-")
	g.traffic(t, "/orders/1", 5, 200)
	g.traffic(t, "/products/1", 2, 200) // 3 with startDashGateway's
	g.traffic(t, "/search", 1, 200)
	g.traffic(t, "/search", 2, 429)

	t.Setenv(tokenEnv, "")
	if code, _, errs := g.adminCmd("routes"); code != 1 || !strings.Contains(errs, "401") || !strings.Contains(errs, tokenEnv) {
		t.Errorf("without the token: exit %d, %q", code, errs)
	}
	t.Setenv(tokenEnv, dashTestToken)
	code, out, errs := g.adminCmd("routes")
	if code != 0 || !strings.HasPrefix(out, "ROUTE") {
		t.Fatalf("sluice routes: exit %d\n%s%s", code, out, errs)
	}
	// ROUTE PATH CLUSTER REQ/S REQUESTS 5XX 4XX P50 / P99 ... RATE-LIMITED
	orders, products, search := row(out, "cli-orders"), row(out, "cli-products"), row(out, "cli-search")
	if len(orders) < 6 || orders[1] != "/orders/*" || orders[2] != "shop" || orders[4] != "5" {
		t.Errorf("orders row %q in\n%s", orders, out)
	}
	if len(products) < 6 || products[2] != "(GET)" || products[5] != "3" {
		t.Errorf("products row %q in\n%s", products, out)
	}
	if len(search) < 6 || search[4] != "3" || search[len(search)-1] != "2" {
		t.Errorf("search row (3 requests, 2 rate-limited) %q in\n%s", search, out)
	}

	code, out, errs = g.adminCmd("status")
	shop := row(out, "shop")
	if code != 0 || !strings.HasPrefix(out, "config") || !strings.Contains(out, "#1") || !strings.Contains(out, "last reload  none") ||
		len(shop) < 5 || shop[2] != strings.TrimPrefix(g.shop.URL, "http://") || shop[3] != "healthy" || shop[4] != "closed" {
		t.Errorf("sluice status: exit %d\n%s%s", code, out, errs)
	}

	// A rejected reload shows with its file:line:column.
	if err := os.WriteFile(g.file, []byte(g.config("  - {name: bad, match: {path: /b}, cluster: nope}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, g.logs, "the rejected reload", func() bool {
		_, out, _ = g.adminCmd("status")
		return strings.Contains(out, "REJECTED")
	})
	if !strings.Contains(out, "by SIGHUP") || !strings.Contains(out, g.file+":18:") || !strings.Contains(out, `unknown cluster "nope"`) || !strings.Contains(out, "#1") {
		t.Errorf("status after a rejected reload:\n%s", out)
	}

	var stderr bytes.Buffer
	if code := run([]string{"status", "extra"}, &stderr); code != 2 {
		t.Errorf("sluice status extra: exit %d, want 2 (%s)", code, stderr.String())
	}
}
