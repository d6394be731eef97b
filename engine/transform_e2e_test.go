package engine

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// End-to-end tests of `type: transform` through the real engine: a Go
// net/http client, the shipped jwt and transform filters, and an upstream
// that records the exact request heads it receives.

// transformRecorder records each request head as raw lines and answers
// with a Server and a weak X-Frame-Options header, for the response edits
// to work on.
func transformRecorder(t *testing.T) (addr string, heads chan []string) {
	return headRecorder(t, "HTTP/1.1 200 OK\r\nServer: up/1\r\nX-Frame-Options: SAMEORIGIN\r\nContent-Length: 2\r\n\r\nok")
}

const transformMiddleware = `  shape: {type: transform,
          request:  {set_headers: {X-Tenant: "{claims.tenant}"}, add_headers: {X-Route-User: "u-{params.id}", X-Seen-Client: "{client_ip}"},
                     remove_headers: [Cookie], rename_headers: {X-Old: X-New},
                     set_query: {v: "2", tenant: "{claims.tenant}"}, remove_query: [debug], rename_query: {q: search},
                     replace_prefix: {from: /api/v1, to: /v1}, host: internal.example},
          response: {set_headers: {X-Frame-Options: DENY}, remove_headers: [Server]}}
  profiles: {type: transform, request: {rewrite: {regex: "^/users/(\\d+)/profile$", to: "/profiles/$1"}}}
  broken: {type: transform, request: {rewrite: {regex: "^/(.*)$", to: "$1"}}}
`

const transformRoutes = `  - {name: api, match: {path: "/api/v1/users/:id"}, cluster: up, middleware: [auth, shape]}
  - {name: prof, match: {path: "/p/*"}, cluster: up, strip_prefix: /p, middleware: [profiles]}
  - {name: broken, match: {path: "/broken/*"}, cluster: up, middleware: [broken]}
`

// headerLines returns the head's lines called name (case-insensitive).
func headerLines(head []string, name string) []string {
	var out []string
	for _, line := range head[1:] {
		if n, _, _ := strings.Cut(line, ":"); strings.EqualFold(n, name) {
			out = append(out, line)
		}
	}
	return out
}

func TestTransformThroughTheStack(t *testing.T) {
	addr, heads := transformRecorder(t)
	g := startGateway(t, oneCluster(addr, hsAuthConfig(t, transformMiddleware), transformRoutes), 1)
	c := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	claims := func(tenant any) string {
		cl := userClaims("alice", "user")
		if tenant != nil {
			cl["tenant"] = tenant
		}
		return "Bearer " + hsToken(t, cl)
	}
	get := func(path string, headers ...string) (*http.Response, string, []string) {
		t.Helper()
		req, _ := http.NewRequest("GET", g.url(path), nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return resp, string(body), nil
		}
		select {
		case h := <-heads:
			return resp, string(body), h
		case <-time.After(5 * time.Second):
			t.Fatalf("GET %s: the upstream saw nothing", path)
		}
		return nil, "", nil
	}
	expect := func(what string, head []string, name string, want ...string) {
		t.Helper()
		if got := headerLines(head, name); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: upstream %s lines %q, want %q\nhead: %q", what, name, got, want, head)
		}
	}

	t.Run("every request edit and the response edits", func(t *testing.T) {
		resp, body, head := get("/api/v1/users/42?debug=1&q=a%20b&v=1&keep=x%2Fy",
			"Authorization", claims("acme"), "Cookie", "s=1", "X-Old", "renamed", "X-Tenant", "forged")
		if body != "ok" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if want := "GET /v1/users/42?search=a%20b&v=2&keep=x%2Fy&tenant=acme HTTP/1.1"; head[0] != want {
			t.Errorf("request line %q, want %q", head[0], want)
		}
		expect("edits", head, "Host", "Host: internal.example")
		expect("edits", head, "X-Tenant", "X-Tenant: acme")
		expect("edits", head, "Cookie")
		expect("edits", head, "X-Old")
		expect("edits", head, "X-New", "X-New: renamed")
		expect("edits", head, "X-Route-User", "X-Route-User: u-42")
		expect("edits", head, "X-Seen-Client", "X-Seen-Client: 127.0.0.1")
		expect("edits", head, "Authorization") // the jwt filter's strip still holds
		if got := resp.Header.Values("X-Frame-Options"); len(got) != 1 || got[0] != "DENY" {
			t.Errorf("X-Frame-Options %q, want [DENY]", got)
		}
		if s := resp.Header.Get("Server"); s != "" {
			t.Errorf("Server %q reached the client", s)
		}
	})

	t.Run("a missing claim sends no header and no parameter, and drops the client's", func(t *testing.T) {
		_, _, head := get("/api/v1/users/7?tenant=forged", "Authorization", claims(nil), "X-Tenant", "forged")
		if want := "GET /v1/users/7?v=2 HTTP/1.1"; head[0] != want {
			t.Errorf("request line %q, want %q", head[0], want)
		}
		expect("missing", head, "X-Tenant")
	})

	t.Run("a claim with CR LF injects no header", func(t *testing.T) {
		_, _, head := get("/api/v1/users/7", "Authorization", claims("acme\r\nX-Admin: true"))
		expect("injection", head, "X-Tenant")
		expect("injection", head, "X-Admin")
		if want := "GET /v1/users/7?tenant=acme%0D%0AX-Admin%3A%20true&v=2 HTTP/1.1"; head[0] != want {
			t.Errorf("request line %q, want %q (encoded, one parameter)", head[0], want)
		}
	})

	t.Run("a non-string claim renders; an object is missing", func(t *testing.T) {
		_, _, head := get("/api/v1/users/7", "Authorization", claims(1234))
		expect("number", head, "X-Tenant", "X-Tenant: 1234")
		_, _, head = get("/api/v1/users/7", "Authorization", claims(map[string]any{"id": 1}))
		expect("object", head, "X-Tenant")
	})

	t.Run("regexp rewrite after strip_prefix", func(t *testing.T) {
		_, _, head := get("/p/users/7/profile?x=1")
		if want := "GET /profiles/7?x=1 HTTP/1.1"; head[0] != want {
			t.Errorf("request line %q, want %q", head[0], want)
		}
		_, _, head = get("/p/users/7/posts") // no match: strip_prefix's path
		if want := "GET /users/7/posts HTTP/1.1"; head[0] != want {
			t.Errorf("request line %q, want %q", head[0], want)
		}
	})

	t.Run("a rewrite to an invalid path is a 500 and goes nowhere", func(t *testing.T) {
		resp, body, _ := get("/broken/abc")
		if resp.StatusCode != 500 || !strings.Contains(body, `"error":"path rewrite produced an invalid path"`) {
			t.Errorf("%d %q, want 500 with the JSON error", resp.StatusCode, body)
		}
		select {
		case h := <-heads:
			t.Errorf("the upstream got %q", h)
		default:
		}
	})
}

// TestTransformHostSurvivesRetry: a retry to another target rewrites the
// Host of the kept head for that target, unless transform set it: then
// every try carries transform's Host.
func TestTransformHostSurvivesRetry(t *testing.T) {
	addr, heads := transformRecorder(t)
	top := "middleware:\n  h: {type: transform, request: {host: internal.example}}\n"
	routes := "  - {name: all, match: {path: /*}, cluster: up, middleware: [h]}\n"
	g := startGateway(t, tcConfig(top, "    retries: {attempts: 2, on: [connect_failure]}\n", routes, freeAddr(t), addr), 1)
	c := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	for i := range 6 {
		resp, err := c.Get(g.url(fmt.Sprintf("/x/%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		if h := headerLines(<-heads, "Host"); len(h) != 1 || h[0] != "Host: internal.example" {
			t.Errorf("request %d: upstream Host %q", i, h)
		}
	}
	if allowed, _ := g.e.Snapshot().Clusters["up"].RetryStats(); allowed == 0 {
		t.Error("no request was retried: the test proves nothing")
	}
}
