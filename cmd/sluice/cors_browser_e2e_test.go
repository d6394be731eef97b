package main

// The cors type proven in a real browser: headless Chromium, driven over
// the DevTools protocol by chromedp, loads a page from one origin whose
// script calls the gateway binary on another, and the test asserts what
// the script reports. Three origins, all on 127.0.0.1, told apart by port:
// the allowed page's, a refused page's, and the gateway's.
//
// CI must run it: without chromium on PATH the test fails. To skip it
// locally, where no browser is installed, set SLUICE_SKIP_BROWSER=1.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserUpstream records what reached it: method, path, Cookie and
// X-Custom of each request.
type browserUpstream struct {
	mu   sync.Mutex
	seen []string
}

func (u *browserUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.seen = append(u.seen, fmt.Sprintf("%s %s cookie=%q x-custom=%q body=%q", r.Method, r.URL.Path, r.Header.Get("Cookie"), r.Header.Get("X-Custom"), body))
	u.mu.Unlock()
	w.Header().Set("X-Exposed", "visible")
	w.Header().Set("X-Hidden", "secret")
	w.Header().Set("Access-Control-Allow-Origin", "*") // the gateway's policy replaces it
	io.WriteString(w, "hello from upstream")
}

func (u *browserUpstream) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

// chromium returns the browser's path, or fails (skips with
// SLUICE_SKIP_BROWSER=1).
func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("SLUICE_SKIP_BROWSER") == "1" {
		t.Skip("SLUICE_SKIP_BROWSER=1")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: install it (apt-get install chromium; .ci/run does) or set SLUICE_SKIP_BROWSER=1 to skip this test")
	return ""
}

// pageServer serves an empty HTML page; setCookie, when given, is set on
// it. Cookies ignore ports, so the gateway's host gets it too.
func pageServer(t *testing.T, setCookie string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if setCookie != "" {
			w.Header().Set("Set-Cookie", setCookie)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>cors</title><p>page")
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCORSInBrowser(t *testing.T) {
	browser := chromium(t)
	bin := buildSluice(t)
	up := &browserUpstream{}
	upSrv := httptest.NewServer(up)
	t.Cleanup(upSrv.Close)
	allowed := pageServer(t, "session=s3cret; Path=/; SameSite=Lax")
	refused := pageServer(t, "")

	listen := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	cfg := fmt.Sprintf(`listen: %q
admin: ""
access_log: {path: %q, format: json}
clusters:
  up: {targets: [{url: %q}]}
middleware:
  browser_cors: {type: cors, allow_origins: [%q], allow_methods: [GET, PUT], allow_headers: [X-Custom],
                 expose_headers: [X-Exposed], allow_credentials: true, max_age: 10m}
routes:
  - {name: api, match: {path: /api/*}, cluster: up, middleware: [browser_cors]}
`, listen, logPath, upSrv.URL, allowed.URL)
	p := startPathsGateway(t, bin, cfg, listen)
	gw := "http://" + listen

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("no-proxy-server", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	// run loads page and evaluates script (an async function's body) there,
	// returning what it returns.
	run := func(page, script string) map[string]any {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
			t.Fatalf("browser: load %s: %v", page, err)
		}
		out, err := chromedp.Run(bctx, chromedp.Evaluate[map[string]any]("(async () => {"+script+"})()", chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("browser: %v", err)
		}
		return out
	}
	// fetch reports the response (status, body, two headers) or the error.
	const report = `
		try {
			const r = await fetch(url, init);
			return {status: r.status, body: await r.text(), exposed: r.headers.get("X-Exposed"), hidden: r.headers.get("X-Hidden")};
		} catch (e) {
			return {error: e.name + ": " + e.message};
		}`
	check := func(what string, got map[string]any, want map[string]any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the page saw %v, want %v", what, got, want)
		}
	}

	// 1. A simple GET: the page reads the body and the exposed header, not
	// the other one.
	got := run(allowed.URL+"/", fmt.Sprintf(`const url = %q, init = {};`, gw+"/api/get")+report)
	check("allowed GET", got, map[string]any{"status": 200.0, "body": "hello from upstream", "exposed": "visible", "hidden": nil})
	if seen := up.take(); len(seen) != 1 || !strings.HasPrefix(seen[0], "GET /api/get ") {
		t.Errorf("allowed GET: upstream saw %q", seen)
	}

	// 2. A PUT with a custom header, a JSON body and credentials: the
	// browser preflights it; the gateway answers the preflight, the PUT
	// reaches the upstream with the cookie.
	got = run(allowed.URL+"/", fmt.Sprintf(`const url = %q, init = {method: "PUT", credentials: "include",
		headers: {"X-Custom": "42", "Content-Type": "application/json"}, body: '{"n":1}'};`, gw+"/api/put")+report)
	check("allowed PUT with credentials", got, map[string]any{"status": 200.0, "body": "hello from upstream", "exposed": "visible", "hidden": nil})
	if seen, want := up.take(), []string{`PUT /api/put cookie="session=s3cret" x-custom="42" body="{\"n\":1}"`}; !slices.Equal(seen, want) {
		t.Errorf("allowed PUT: upstream saw %q, want %q (and no preflight)", seen, want)
	}
	waitUntil(t, p, 10*time.Second, "the preflight's access-log line", func() bool {
		for _, l := range readJSONLines(t, logPath) {
			if l["method"] == "OPTIONS" && l["path"] == "/api/put" && l["status"] == 204.0 {
				return true
			}
		}
		return false
	})

	// 3. From a page of another origin: the browser blocks both. The simple
	// GET is sent (the upstream sees it) but its response is withheld from
	// the page; the PUT's preflight is refused (403) and the PUT never sent.
	got = run(refused.URL+"/", fmt.Sprintf(`const url = %q, init = {};`, gw+"/api/get")+report)
	check("GET from a refused origin", got, map[string]any{"error": "TypeError: Failed to fetch"})
	got = run(refused.URL+"/", fmt.Sprintf(`const url = %q, init = {method: "PUT", headers: {"X-Custom": "1"}};`, gw+"/api/put")+report)
	check("PUT from a refused origin", got, map[string]any{"error": "TypeError: Failed to fetch"})
	if seen := up.take(); len(seen) != 1 || !strings.HasPrefix(seen[0], "GET /api/get ") {
		t.Errorf("refused origin: upstream saw %q, want the GET only", seen)
	}
	waitUntil(t, p, 10*time.Second, "the refused preflight's access-log line", func() bool {
		for _, l := range readJSONLines(t, logPath) {
			if l["method"] == "OPTIONS" && l["status"] == 403.0 {
				return true
			}
		}
		return false
	})
}
