package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// dashboardPNG, when set, is where TestDashboardInBrowser saves a
// screenshot of the page at its end (docs/dashboard.png is made this way:
// go test ./cmd/sluice -run TestDashboardInBrowser -args
// -dashboard-png=$PWD/docs/dashboard.png).
var dashboardPNG = flag.String("dashboard-png", "", "save a screenshot of the dashboard to this PNG `file`")

// TestDashboardInBrowser drives the dashboard in headless Chromium against a
// real gateway: the login form, a route's request count rising while
// traffic flows, a breaker opening once its upstream is killed, and a
// reload from the button changing the config version; the page must log
// no error and throw no exception all along.
func TestDashboardInBrowser(t *testing.T) {
	browser := chromium(t) // absent: the test fails unless SLUICE_SKIP_BROWSER=1
	g := startDashGateway(t, "")

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.WindowSize(1360, 860))...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()

	var (
		mu       sync.Mutex
		problems []string
	)
	messages := chromedp.Console(ctx) // subscribed now, before the page loads
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\ngateway log:\n%s", what, err, g.logs.String())
		}
	}
	// until waits, in the page, for a JavaScript condition to hold.
	until := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("the page never showed %s: %v\npage:\n%s", what, err, text)
		}
	}
	cell := func(sel string) string { return fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? "")`, sel) }
	count := func(sel string) string { return fmt.Sprintf(`Number(%s.replace(/,/g, "") || -1)`, cell(sel)) }

	// "/" redirects; the login form takes the token.
	do("open the dashboard", chromedp.Navigate("http://"+g.admin+"/"), chromedp.WaitVisible("#token"))
	do("log in", chromedp.SendKeys("#token", dashTestToken), chromedp.Click(`#login-form button`))
	until("the routes", fmt.Sprintf(`%s >= 1`, count(`tr[data-route="products"] td.requests`)))

	// A route's request count rises while traffic flows.
	orders := `tr[data-route="orders"] td.requests`
	for _, total := range []int{20, 40} {
		g.traffic(t, "/orders/a", 20, 200)
		g.traffic(t, "/products/b", 5, 200)
		until(fmt.Sprintf("orders at %d requests", total), fmt.Sprintf(`%s === %d`, count(orders), total))
	}
	until("a request rate for orders", fmt.Sprintf(`%s !== "–"`, cell(`tr[data-route="orders"] td.rps`)))
	g.traffic(t, "/search", 1, 200)
	g.traffic(t, "/search", 3, 429)
	until("3 rate-limited requests on search", fmt.Sprintf(`%s.startsWith("3")`, cell(`tr[data-route="search"] td.rate-limited`)))

	// Kill the shop upstream: its breaker opens after 3 failures in a row.
	shopAddr := strings.TrimPrefix(g.shop.URL, "http://")
	breaker := fmt.Sprintf(`tr[data-target=%q] td.breaker`, shopAddr)
	until("the shop breaker closed", fmt.Sprintf(`%s === "closed"`, cell(breaker)))
	g.shop.Close()
	for range 3 {
		if st := g.get("/orders/x"); st != 502 {
			t.Fatalf("with the upstream gone: %d, want 502", st)
		}
	}
	if st := g.get("/orders/x"); st != 503 {
		t.Errorf("with the breaker open: %d, want 503", st)
	}
	until("the shop breaker open", fmt.Sprintf(`%s === "open"`, cell(breaker)))
	until("orders errors", fmt.Sprintf(`%s !== "0.0%%" && %s !== "–"`, cell(`tr[data-route="orders"] td.errors`), cell(`tr[data-route="orders"] td.errors`)))

	// Reload from the button: a new route, config #2.
	if err := os.WriteFile(g.file, []byte(g.config("  - {name: reviews, match: {path: /reviews/*}, cluster: catalog}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	until("config #1", fmt.Sprintf(`%s === "#1"`, cell("#config-version")))
	do("click reload", chromedp.Click("#reload"))
	until("config #2 after the reload", fmt.Sprintf(`%s === "#2"`, cell("#config-version")))
	until("the new route", fmt.Sprintf(`document.querySelector(%q) !== null`, `tr[data-route="reviews"]`))
	until("the reload applied", fmt.Sprintf(`%s.includes("applied")`, cell("#reload-summary")))
	g.traffic(t, "/reviews/1", 3, 200)
	until("reviews traffic", fmt.Sprintf(`%s === 3`, count(`tr[data-route="reviews"] td.requests`)))

	if *dashboardPNG != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*dashboardPNG, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(problems, "\n"))
	}
}
