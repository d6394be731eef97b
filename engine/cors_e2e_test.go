package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The shipped cors type through real sockets: Go's net/http client, the
// gateway, and a net/http upstream that sends its own (wrong) CORS policy
// and records every request it gets, so the test can prove that no
// preflight reached it.
const corsConfig = `listen: "{{listen}}"
admin: ""
middleware:
  edge_cors: {type: cors, allow_origins: ["https://app.example.com", "https://*.example.com"], allow_methods: [GET, PUT],
              allow_headers: [X-Custom], expose_headers: [X-Request-ID], allow_credentials: true, max_age: 10m}
  limit: {type: rate_limit, key: ip, rate: 1, per: 1h, burst: 1, headers: false}
  keys: {type: api_key, consumers: [{id: ops, key_sha256: c4e43d5b036e666ab7c78c3971ecc458586a334f2c3171ba1979da452a6d2668}]}
clusters:
  up:
    targets: [{url: "http://%s"}]
    timeouts: {connect: 500ms, response: 2s}
  dead:
    targets: [{url: "http://%s"}]
    timeouts: {connect: 500ms, response: 2s}
routes:
  - {name: open, match: {path: /open/*}, cluster: up, middleware: [edge_cors]}
  - {name: locked, match: {path: /locked/*}, cluster: up, middleware: [edge_cors, keys]}
  - {name: dead, match: {path: /dead/*}, cluster: dead, middleware: [edge_cors]}
  - {name: limited, match: {path: /limited/*}, cluster: up, middleware: [edge_cors, limit]}
`

// corsUpstream records "METHOD path" of each request and answers with a
// CORS policy of its own, which the gateway must drop.
type corsUpstream struct {
	mu   sync.Mutex
	seen []string
}

func (u *corsUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.seen = append(u.seen, r.Method+" "+r.URL.Path)
	u.mu.Unlock()
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "DELETE")
	if r.URL.Path == "/open/304" {
		w.WriteHeader(304)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "from upstream")
}

func (u *corsUpstream) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

func TestCORSThroughGateway(t *testing.T) {
	up := &corsUpstream{}
	srv := startUpstream(t, up)
	g := startGateway(t, fmt.Sprintf(corsConfig, srv.addr, freeAddr(t)), 1)
	client := &http.Client{Timeout: 5 * time.Second}

	const app, shop, evil = "https://app.example.com", "https://shop.example.com", "https://evil.test"
	grant := func(origin string) map[string]string {
		return map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "X-Request-ID", "Vary": "Origin"}
	}
	preflight := func(origin string) map[string]string {
		return map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods": "GET, HEAD, POST, PUT", "Access-Control-Max-Age": "600", "Vary": "Origin",
			"Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Language, Content-Type, X-Custom"}
	}
	cases := []struct {
		name, method, path string
		headers            map[string]string
		status             int
		want               map[string]string // Access-Control-* and Vary, exactly
		upstream           string            // what the upstream saw, "" for nothing
		errMsg             string            // the JSON error's message, when the gateway answered with one
	}{
		{"preflight answered at the edge", "OPTIONS", "/open/x",
			map[string]string{"Origin": app, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-custom, content-type"},
			204, preflight(app), "", ""},
		{"preflight before the api_key check", "OPTIONS", "/locked/x",
			map[string]string{"Origin": shop, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "X-Custom"},
			204, preflight(shop), "", ""},
		{"preflight from another origin", "OPTIONS", "/open/x",
			map[string]string{"Origin": evil, "Access-Control-Request-Method": "PUT"}, 403, map[string]string{}, "", "CORS origin not allowed"},
		{"preflight for a method not allowed", "OPTIONS", "/open/x",
			map[string]string{"Origin": app, "Access-Control-Request-Method": "DELETE"}, 403, map[string]string{}, "", "CORS method not allowed"},
		{"preflight for a header not allowed", "OPTIONS", "/open/x",
			map[string]string{"Origin": app, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-custom, authorization"},
			403, map[string]string{}, "", "CORS request header not allowed"},
		{"OPTIONS that is no preflight goes upstream", "OPTIONS", "/open/x",
			map[string]string{"Origin": app}, 200, grant(app), "OPTIONS /open/x", ""},
		{"GET granted, the upstream's policy dropped", "GET", "/open/x", map[string]string{"Origin": app}, 200, grant(app), "GET /open/x", ""},
		{"PUT from a pattern's origin", "PUT", "/open/x", map[string]string{"Origin": shop, "X-Custom": "1"}, 200, grant(shop), "PUT /open/x", ""},
		{"HEAD granted", "HEAD", "/open/x", map[string]string{"Origin": app}, 200, grant(app), "HEAD /open/x", ""},
		{"304 granted", "GET", "/open/304", map[string]string{"Origin": app}, 304, grant(app), "GET /open/304", ""},
		{"another origin: no grant, Vary", "GET", "/open/x", map[string]string{"Origin": evil}, 200, map[string]string{"Vary": "Origin"}, "GET /open/x", ""},
		{"no Origin: Vary", "GET", "/open/x", nil, 200, map[string]string{"Vary": "Origin"}, "GET /open/x", ""},
		{"a later filter's 401 is readable", "GET", "/locked/x", map[string]string{"Origin": app}, 401, grant(app), "", "Authentication required"},
		{"under the limit", "GET", "/limited/x", map[string]string{"Origin": app}, 200, grant(app), "GET /limited/x", ""},
		{"a later filter's 429 is readable", "GET", "/limited/x", map[string]string{"Origin": app}, 429, grant(app), "", "rate limit exceeded"},
		{"the gateway's 502 is readable", "GET", "/dead/x", map[string]string{"Origin": shop}, 502, grant(shop), "", "upstream connect failed"},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, g.url(tc.path), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, resp.StatusCode, body, tc.status)
		}
		got := map[string]string{}
		for k, v := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
				got[k] = strings.Join(v, " | ")
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: CORS headers\n got %v\nwant %v", tc.name, got, tc.want)
		}
		if tc.errMsg != "" {
			var e struct{ Error string }
			if json.Unmarshal(body, &e) != nil || e.Error != tc.errMsg {
				t.Errorf("%s: body %q, want the JSON error %q", tc.name, body, tc.errMsg)
			}
		}
		if seen := strings.Join(up.take(), ", "); seen != tc.upstream {
			t.Errorf("%s: upstream saw %q, want %q", tc.name, seen, tc.upstream)
		}
	}
}

// BenchmarkProxyCORS is the round trip with cors granting an origin that
// a pattern allows (echoed from the pooled buffer) and dropping the
// upstream's headers: it must not allocate.
func BenchmarkProxyCORS(b *testing.B) {
	benchmarkProxy(b, `middleware:
  edge_cors: {type: cors, allow_origins: ["https://app.example.com", "https://*.example.com"], allow_methods: [GET, PUT], expose_headers: [X-Request-ID], allow_credentials: true}`,
		"    middleware: [edge_cors]\n", "Origin: https://shop.example.com\r\n")
}
