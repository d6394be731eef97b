package main

// End-to-end tests of issue 12's route-confusion bypasses through the real
// binary: the router and the upstream must never disagree about which route
// a request belongs to. The upstream is a net/http server, which decodes
// percent-escapes into r.URL.Path as WSGI servers, Tomcat and most
// frameworks do; it reads that path as leniently as the worst of them
// (backslash as '/', ";params" cut off, overlong UTF-8 dots decoded, dot
// segments resolved) and records every request that reached a protected
// subtree without the API key the gateway requires there. Requests are
// written on raw TCP connections, byte for byte: curl and net/http would
// normalise several of these targets before sending them.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"
)

// opsKey is the API key of the only consumer; its SHA-256 is in pathsConfig.
const opsKey = "k-ops-1"

// pathsConfig protects /api/admin/*, /api/secret/* and /adm/* with an API
// key, limits /api/reports/* to GET behind the key, and leaves /api/public/*,
// /w/* and a catch-all /* open: the quickstart's shape plus the issue's
// cases. extra is appended at the top level (the path policy), reports is
// spliced into the reports route's match.
func pathsConfig(listen, upstream, extra, reports string) string {
	return fmt.Sprintf(`listen: %q
admin: ""
access_log: {enabled: false}
%s
clusters:
  app: {targets: [{url: "http://%s"}]}
middleware:
  keys: {type: api_key, consumers: [{id: ops, key_sha256: c4e43d5b036e666ab7c78c3971ecc458586a334f2c3171ba1979da452a6d2668}]}
routes:
  - {name: admin, match: {path: /api/admin/*}, cluster: app, middleware: [keys]}
  - {name: secret, match: {path: /api/secret/*}, cluster: app, middleware: [keys]}
  - {name: adm, match: {path: /adm/*}, cluster: app, middleware: [keys]}
  - {name: reports, match: {path: /api/reports/*, methods: [GET]%s}, cluster: app, middleware: [keys]}
  - {name: public, match: {path: /api/public/*}, cluster: app}
  - {name: w, match: {path: /w/*}, cluster: app}
  - {name: catch-all, match: {path: /*}, cluster: app}
`, listen, extra, upstream, reports)
}

// seen is what the decoding upstream received for one request.
type seen struct {
	Method     string `json:"method"`
	Path       string `json:"path"`        // r.URL.Path: decoded
	RequestURI string `json:"request_uri"` // as sent by the gateway
	Consumer   string `json:"consumer"`    // X-Consumer-ID, set by api_key
}

// decodingUpstream answers every request with what it saw (JSON) and keeps
// the requests that reached a protected subtree, as a lenient upstream
// reads the path, without having passed the gateway's api_key.
type decodingUpstream struct {
	*httptest.Server
	// openReports: the config lets other methods on /api/reports fall
	// through to the catch-all on purpose.
	openReports bool
	mu          sync.Mutex
	all         []seen
	breaches    []seen
}

func newDecodingUpstream(t *testing.T, openReports bool) *decodingUpstream {
	u := &decodingUpstream{openReports: openReports}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, Path: r.URL.Path, RequestURI: r.RequestURI, Consumer: r.Header.Get("X-Consumer-ID")}
		p := r.URL.Path
		// As IIS URL Rewrite and older Symfony and Zend releases did: a
		// path override header replaces the request line's path.
		for _, h := range []string{"X-Original-URL", "X-Rewrite-URL"} {
			if v := r.Header.Get(h); v != "" {
				p, _, _ = strings.Cut(v, "?")
			}
		}
		// As Express's method-override and Google's APIs do: a method
		// override header replaces the request line's method.
		for _, h := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
			if v := r.Header.Get(h); v != "" {
				s.Method = strings.ToUpper(v)
			}
		}
		u.mu.Lock()
		u.all = append(u.all, s)
		if protected(s.Method, lenientPath(p), u.openReports) && (s.Consumer == "" || !methodAllowed(s.Method, lenientPath(p))) {
			u.breaches = append(u.breaches, s)
		}
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(u.Close)
	return u
}

// lenientPath reads a decoded path as the most forgiving upstreams do
// (after any path override header has replaced it):
// '\' is '/', overlong UTF-8 "." and "/" decode, ";params" are cut from
// each segment (servlet containers), then dot segments are resolved.
func lenientPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	p = strings.ReplaceAll(p, "\xc0\xae", ".")
	p = strings.ReplaceAll(p, "\xc0\xaf", "/")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if j := strings.IndexByte(s, ';'); j >= 0 {
			segs[i] = s[:j]
		}
	}
	return path.Clean("/" + strings.Join(segs, "/"))
}

// protected reports whether the gateway's config puts method p behind the
// API key.
func protected(method, p string, openReports bool) bool {
	for _, pre := range []string{"/api/admin", "/api/secret", "/adm"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return !openReports && (p == "/api/reports" || strings.HasPrefix(p, "/api/reports/")) && method != "GET" && method != "HEAD"
}

// methodAllowed reports whether the config lets method p through at all,
// with the key: /api/reports is GET-only for everyone.
func methodAllowed(method, p string) bool {
	reports := p == "/api/reports" || strings.HasPrefix(p, "/api/reports/")
	return !reports || method == "GET" || method == "HEAD"
}

func (u *decodingUpstream) take() (all, breaches []seen) {
	u.mu.Lock()
	defer u.mu.Unlock()
	all, breaches = u.all, u.breaches
	u.all, u.breaches = nil, nil
	return all, breaches
}

// rawReply is one response read off a raw connection.
type rawReply struct {
	status int
	header http.Header
	body   string
}

// rawRequest writes head (the request line and headers, without the final
// CRLF) on a fresh connection and reads one response.
func rawRequest(t *testing.T, addr, head string) rawReply {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(head, " ")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: %v", head, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawReply{resp.StatusCode, resp.Header, string(b)}
}

// startPathsGateway runs the binary on cfg and waits until it accepts.
func startPathsGateway(t *testing.T, bin, cfg, listen string) *sluiceProc {
	t.Helper()
	p := startSluice(t, bin, writeFile(t, cfg))
	waitUntil(t, p, 20*time.Second, "the listener", func() bool {
		c, err := net.DialTimeout("tcp", listen, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return p
}

// pathCase is one request and what must come of it.
type pathCase struct {
	name   string
	method string // "" = GET
	target string // the request-target, written as is
	key    bool   // send the API key
	header string // one more header line, "" for none
	status int
	// upstream is the RequestURI the upstream must see when status is
	// 200; "" when it must see nothing.
	upstream string
	allow    string // the Allow header a 405 must carry
}

func runPathCases(t *testing.T, addr string, up *decodingUpstream, cases []pathCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			head := method + " " + tc.target + " HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n"
			if tc.key {
				head += "X-API-Key: " + opsKey + "\r\n"
			}
			if tc.header != "" {
				head += tc.header + "\r\n"
			}
			r := rawRequest(t, addr, head)
			all, breaches := up.take()
			if len(breaches) > 0 {
				t.Errorf("the upstream served a protected path without the key: %+v", breaches)
			}
			if r.status != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s; upstream saw %+v", method, tc.target, r.status, tc.status, r.body, all)
			}
			if r.status != 200 {
				if len(all) > 0 {
					t.Errorf("refused with %d, yet the upstream saw %+v", r.status, all)
				}
				var e struct{ Error, RequestID string }
				if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == "" || r.header.Get("Content-Type") != "application/json" {
					t.Errorf("error body %q (%v) is not the JSON error", r.body, err)
				}
				if got := r.header.Get("Allow"); got != tc.allow {
					t.Errorf("Allow %q, want %q", got, tc.allow)
				}
				return
			}
			if len(all) != 1 || all[0].RequestURI != tc.upstream {
				t.Fatalf("upstream saw %+v, want one request for %q", all, tc.upstream)
			}
		})
	}
}

// TestRouteConfusionEndToEnd runs every bypass of issue 12 against the
// default path policy. On the gateway before the fix each of the first
// group reached the upstream through the open catch-all (or the public
// route) while the upstream read it as a protected path.
func TestRouteConfusionEndToEnd(t *testing.T) {
	bin := buildSluice(t)
	up := newDecodingUpstream(t, false)
	listen := freeAddr(t)
	startPathsGateway(t, bin, pathsConfig(listen, up.Listener.Addr().String(), "", ""), listen)

	runPathCases(t, listen, up, []pathCase{
		// Issue 12, point 1: encoded separators, parameters, overlong UTF-8.
		{name: "encoded slash", target: "/api/admin%2Fstats", status: 400},
		{name: "lower-case encoded slash", target: "/api/admin%2fstats", status: 400},
		{name: "encoded slash after dot-dot", target: "/api/public/..%2fsecret/x", status: 400},
		{name: "encoded backslash", target: "/api/admin%5Cstats", status: 400},
		{name: "raw backslash", target: `/api/admin\stats`, status: 400},
		{name: "raw backslash dot-dot", target: `/api/public/..\secret/x`, status: 400},
		{name: "path parameter", target: "/api/secret;x/y", status: 400},
		{name: "dot-dot parameter", target: "/w/..;/adm/x", status: 400},
		{name: "overlong dots", target: "/api/public/%c0%ae%c0%ae/admin/x", status: 400},
		{name: "overlong slash", target: "/api/admin%c0%afstats", status: 400},
		{name: "encoded NUL", target: "/api/admin/x%00.json", key: true, status: 400},
		{name: "malformed escape", target: "/api/%zzadmin", status: 400},
		{name: "truncated escape", target: "/api/admin/%4", status: 400},
		{name: "absolute-form with an encoded slash", target: "http://gw.test/api/admin%2Fstats", status: 400},

		// Issue 12, point 2: /x/* covers the bare /x.
		{name: "bare prefix needs the key", target: "/api/admin", status: 401},
		{name: "bare prefix with the key", target: "/api/admin", key: true, status: 200, upstream: "/api/admin"},
		{name: "absolute-form bare prefix", target: "http://gw.test/api/admin", status: 401},

		// Issue 12, point 3: no method fall-through to the catch-all.
		{name: "refused method is 405, not the catch-all", method: "DELETE", target: "/api/reports/x", status: 405, allow: "GET, HEAD"},
		{name: "with the key too", method: "DELETE", target: "/api/reports/x", key: true, status: 405, allow: "GET, HEAD"},
		{name: "allowed method with the key", target: "/api/reports/x", key: true, status: 200, upstream: "/api/reports/x"},

		// What already held, kept: plain and encoded dot segments are
		// resolved before routing and the resolved path is forwarded.
		{name: "dot-dot into admin is routed to admin", target: "/api/public/../admin/x", status: 401},
		{name: "encoded dot-dot into admin", target: "/api/public/%2e%2E/admin/x", status: 401},
		{name: "resolved path forwarded", target: "/api/public/%2e%2E/admin/x/./y", key: true, status: 200, upstream: "/api/admin/x/y"},
		{name: "double slash merged", target: "//api//admin//x", status: 401},
		{name: "climbing above the root", target: "/../api/admin/x", status: 400},
		{name: "fragment refused by the parser", target: "/api/public/x#/../../admin", status: 400},
		{name: "percent-hex upper-cased, reserved kept encoded", target: "/api/public/a%3fb%c3%a9", status: 200, upstream: "/api/public/a%3Fb%C3%A9"},
		{name: "encoded semicolon is data", target: "/api/public/a%3bb", status: 200, upstream: "/api/public/a%3Bb"},
		{name: "public stays open", target: "/api/public/x", status: 200, upstream: "/api/public/x"},

		// A path the router never sees: headers that some frameworks take
		// as the real path are not forwarded.
		{name: "X-Original-URL is dropped", target: "/api/public/x", header: "X-Original-URL: /api/admin/x", status: 200, upstream: "/api/public/x"},
		{name: "X-Rewrite-URL is dropped", target: "/api/public/x", header: "x-rewrite-url: /adm/x", status: 200, upstream: "/api/public/x"},
		// Nor a method the router never matched: the GET-only route with
		// the key must not become a DELETE at a method-overriding upstream.
		{name: "X-HTTP-Method-Override is dropped", target: "/api/reports/x", key: true, header: "X-HTTP-Method-Override: DELETE", status: 200, upstream: "/api/reports/x"},
		{name: "X-HTTP-Method is dropped", target: "/api/reports/x", key: true, header: "x-http-method: PUT", status: 200, upstream: "/api/reports/x"},
		{name: "X-Method-Override is dropped", target: "/api/reports/x", key: true, header: "X-Method-Override: DELETE", status: 200, upstream: "/api/reports/x"},
	})
}

// TestPathPolicyKnobsEndToEnd runs the documented alternatives: decode
// escaped slashes, strip ';' parameters, and a route that opts in to method
// fall-through. The router routes on the rewritten path and the upstream
// receives exactly that path, so the key is still required wherever the
// upstream reads a protected path.
func TestPathPolicyKnobsEndToEnd(t *testing.T) {
	bin := buildSluice(t)
	up := newDecodingUpstream(t, true)
	listen := freeAddr(t)
	cfg := pathsConfig(listen, up.Listener.Addr().String(),
		"paths: {escaped_slashes: decode, path_params: strip}", ", method_fallthrough: true")
	startPathsGateway(t, bin, cfg, listen)

	runPathCases(t, listen, up, []pathCase{
		{name: "decoded slash routes to admin", target: "/api/admin%2Fstats", status: 401},
		{name: "decoded slash forwarded decoded", target: "/api/admin%2Fstats", key: true, status: 200, upstream: "/api/admin/stats"},
		{name: "decoded dot-dot-slash climbs before routing", target: "/api/public/..%2fsecret/x", status: 401},
		{name: "and is forwarded resolved", target: "/api/public/..%2fsecret/x", key: true, status: 200, upstream: "/api/secret/x"},
		{name: "backslashes are separators", target: `/api\admin%5Cstats`, key: true, status: 200, upstream: "/api/admin/stats"},
		{name: "stripped parameter routes to secret", target: "/api/secret;x/y", status: 401},
		{name: "and is forwarded stripped", target: "/api/secret;x/y", key: true, status: 200, upstream: "/api/secret/y"},
		{name: "dot-dot parameter climbs into adm", target: "/w/..;/adm/x", status: 401},
		{name: "and is forwarded resolved", target: "/w/..;/adm/x", key: true, status: 200, upstream: "/adm/x"},
		{name: "overlong UTF-8 still refused", target: "/api/public/%c0%ae%c0%ae/admin/x", status: 400},
		// The reports route opted in: DELETE falls to the open catch-all,
		// as configured (and `sluice -check` warns about it).
		{name: "opted-in method fall-through", method: "DELETE", target: "/api/reports/x", status: 200, upstream: "/api/reports/x"},
	})
}
