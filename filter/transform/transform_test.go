package transform

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/router"
)

func buildText(t testing.TB, inst string) (filter.Filter, error) {
	t.Helper()
	c, err := config.Parse("t.yaml", []byte("middleware:\n  t: "+inst+"\n"))
	if err != nil {
		return nil, err
	}
	return filter.Build(c.Middleware["t"])
}

func mustBuild(t testing.TB, inst string) filter.Filter {
	t.Helper()
	f, err := buildText(t, inst)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// request is a parsed request routed on pattern, as the engine hands it
// to filters, with claims set as a jwt filter before would.
type request struct {
	req    http1.Request
	params router.Params
	norm   []byte
	claims map[string]any
}

func newRequest(t testing.TB, pattern, raw string, claims string) *request {
	t.Helper()
	r := &request{}
	if _, err := http1.ParseRequest([]byte(raw), &r.req, nil); err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	var err error
	if r.norm, err = router.Normalize(nil, r.req.Path); err != nil {
		t.Fatal(err)
	}
	rt := router.New()
	if err := rt.Add(router.Spec{Path: pattern}); err != nil {
		t.Fatal(err)
	}
	if _, res, _ := rt.Match(r.req.Host, r.req.Method, r.norm, &r.req, &r.params); res != router.Found {
		t.Fatalf("%s does not match %s", r.norm, pattern)
	}
	if claims != "" {
		d := json.NewDecoder(strings.NewReader(claims))
		d.UseNumber()
		if err := d.Decode(&r.claims); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

var (
	testIP = netip.MustParseAddr("192.0.2.7")
	testID = []byte("req-1")
)

// start resets x for r as the engine does, strip being the route's
// strip_prefix.
func (r *request) start(x *filter.Exchange, strip string) {
	x.Reset(nil)
	x.Req, x.Method, x.Path, x.Params = &r.req, r.req.Method, r.norm, &r.params
	x.ClientIP = testIP
	x.RequestID = testID
	x.Claims = r.claims
	if strip != "" {
		x.SetStripPrefix([]byte(strip))
	}
}

// TestTransformConfigErrors: each bad instance fails with its problem at
// the file:line:column of the value at fault.
func TestTransformConfigErrors(t *testing.T) {
	cases := []struct{ inst, want string }{
		{"{type: transform}", "t.yaml:2:3: middleware.t: nothing to do"},
		{`{type: transform, request: {set_headers: {X-Tenant: "{claim.tenant}"}}}`,
			"t.yaml:2:58: middleware.t.request.set_headers.X-Tenant: {claim.tenant} at byte 0: unknown placeholder"},
		{"{type: transform,\n     request: {add_headers: {X-A: ok, X-B: \"v={params}\"}}}",
			"t.yaml:3:44: middleware.t.request.add_headers.X-B: {params} at byte 2: needs a name"},
		{`{type: transform, request: {set_headers: {X-User-Tenant: "{header.X-Tenant}"}}}`,
			"request.set_headers.X-User-Tenant: an identity header the gateway guards"},
		{`{type: transform, request: {add_headers: {x_consumer_id: "{query.c}"}}}`, "an identity header the gateway guards"},
		{"{type: transform, request: {remove_headers: [Transfer-Encoding]}}", `t.yaml:2:50: middleware.t.request.remove_headers: "Transfer-Encoding": a hop-by-hop header`},
		{"{type: transform, request: {remove_headers: [content-length]}}", "framing is the gateway's: changing it would desync"},
		{"{type: transform, request: {set_headers: {Expect: x}}}", "framing is the gateway's"},
		{"{type: transform, request: {set_headers: {host: x}}}", "set the Host with request.host"},
		{"{type: transform, request: {add_headers: {X-Forwarded-For: 1.2.3.4}}}", "written by the gateway itself"},
		{"{type: transform, request: {set_headers: {X-Request-ID: x}}}", "written by the gateway itself"},
		{"{type: transform, request: {set_headers: {X-HTTP-Method-Override: DELETE}}}", "an override header the gateway drops"},
		{"{type: transform, request: {rename_headers: {X-Old: X-User-ID}}}", `request.rename_headers.X-Old: "X-User-ID": an identity header`},
		{"{type: transform, request: {rename_headers: {X-Old: Connection}}}", `"Connection": a hop-by-hop header`},
		{`{type: transform, request: {set_headers: {"Bad Name": x}}}`, "request.set_headers.Bad Name: not a header name"},
		{`{type: transform, request: {set_headers: {X-A: "a\r\nX-Evil: 1"}}}`, "request.set_headers.X-A: value has a control character"},
		{"{type: transform, request: {set_headers: {Cookie: a}, remove_headers: [cookie]}}", `request.remove_headers: "cookie" is also in request.set_headers`},
		{"{type: transform, request: {add_headers: {X-A: a}, rename_headers: {X-A: X-B}}}", `"X-A" is also in request.rename_headers`},
		{"{type: transform, request: {set_query: {v: '2'}, remove_query: [v]}}", `request.set_query: "v" is also in request.remove_query`},
		{"{type: transform, request: {add_query: {v: '2'}, remove_query: [v]}}", `request.add_query: "v" is also in request.remove_query`},
		{"{type: transform, request: {rename_query: {a: ''}}}", "an empty parameter name"},
		{`{type: transform, request: {set_query: {v: "{claims}"}}}`, "request.set_query.v: {claims} at byte 0: needs a name"},
		{"{type: transform, request: {replace_prefix: {from: /api/v1/, to: /v1}}}", `t.yaml:2:57: middleware.t.request.replace_prefix.from: "/api/v1/" must not end with '/'`},
		{"{type: transform, request: {replace_prefix: {from: /api, to: v1}}}", `replace_prefix.to: "v1" is not a path`},
		{"{type: transform, request: {replace_prefix: {from: /api/../x, to: /v1}}}", "is not a path"},
		{"{type: transform, request: {replace_prefix: {from: /a//b, to: /v1}}}", "has an empty segment"},
		{"{type: transform, request: {replace_prefix: {from: /%7Euser, to: /v1}}}", "the path policy decodes those"},
		{`{type: transform, request: {rewrite: {regex: "^/(a", to: /x}}}`, "t.yaml:2:51: middleware.t.request.rewrite.regex: regex: error parsing regexp"},
		{`{type: transform, request: {rewrite: {regex: "^/(a)$", to: "/$2"}}}`, "request.rewrite.to: at byte 1: $2, but the regex has 1 groups"},
		{"{type: transform, request: {rewrite: {to: /x}}}", "request.rewrite.regex: regex: required"},
		{`{type: transform, request: {host: "a b"}}`, `t.yaml:2:40: middleware.t.request.host: "a b" is not a host[:port]`},
		{`{type: transform, request: {host: "user@h"}}`, "is not a host[:port]"},
		{`{type: transform, request: {host: "h:port"}}`, "is not a host[:port]"},
		{`{type: transform, response: {set_headers: {Content-Length: "1"}}}`, `middleware.t.response.set_headers: "Content-Length": written by the gateway itself`},
		{`{type: transform, response: {set_headers: {Server: a}, remove_headers: [server]}}`, `"server" is also in response.set_headers`},
		{"{type: transform, request: {set_header: {A: b}}}", `unknown field "set_header" (did you mean "set_headers"?)`},
		{"{type: transform, request: {replace_prefix: {from: /a, too: /b}}}", `unknown field "too"`},
	}
	for _, tc := range cases {
		if _, err := buildText(t, tc.inst); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", tc.inst, err, tc.want)
		}
	}
}

const shapeInst = `{type: transform,
     request: {set_headers: {X-Tenant: "{claims.tenant}", X-Route-User: "u-{params.id}", Authorization: "Bearer {claims.upstream_token}"},
               add_headers: {X-Client: "{client_ip} {request_id}", X-User-Org: "{claims.org}"},
               remove_headers: [Cookie, X-User-Email], rename_headers: {X-Old: X-New},
               set_query: {v: "2"}, remove_query: [debug],
               replace_prefix: {from: /api/v1, to: /v1}, rewrite: {regex: "^/v1/users/(\\d+)/profile$", to: "/profiles/$1"},
               host: internal.example:8080},
     response: {set_headers: {X-Frame-Options: DENY}, remove_headers: [Server]}}`

// upstreamLines returns the lines filters added upstream.
func upstreamLines(x *filter.Exchange) string { return string(x.UpstreamHeaders()) }

func TestTransformRequest(t *testing.T) {
	f := mustBuild(t, shapeInst)
	c := filter.NewChain(f)
	r := newRequest(t, "/api/v1/users/:id/*rest",
		"GET /api/v1/users/42/profile?debug=1&a=%2F HTTP/1.1\r\nHost: public.example\r\nCookie: s=1\r\nX-Old: kept value\r\nX-Tenant: forged\r\nAuthorization: Bearer client\r\n\r\n",
		`{"tenant":"acme","org":7,"upstream_token":"tok"}`)
	var x filter.Exchange
	email := []byte("from-jwt@example.com")
	run := func() {
		r.start(&x, "")
		x.AddUpstreamHeader("X-User-Email", email) // as a jwt before it
		if v, _ := c.Run(&x, 0); v != filter.Continue {
			t.Fatalf("verdict %v", v)
		}
	}
	run()
	want := "X-New: kept value\r\nAuthorization: Bearer tok\r\nX-Route-User: u-42\r\nX-Tenant: acme\r\nX-Client: 192.0.2.7 req-1\r\nX-User-Org: 7\r\n"
	if got := upstreamLines(&x); got != want {
		t.Errorf("upstream lines\n%q, want\n%q", got, want)
	}
	for name, stripped := range map[string]bool{"cookie": true, "X-Old": true, "X-Tenant": true, "Authorization": true, "Host": false, "X-New": false} {
		if x.Stripped([]byte(name)) != stripped {
			t.Errorf("client's %s stripped = %v, want %v", name, !stripped, stripped)
		}
	}
	if got := string(x.ForwardPath(r.norm, nil)); got != "/profiles/42" {
		t.Errorf("path %q", got) // replace_prefix, then the regexp on its result
	}
	if got := string(x.ForwardQuery(r.req.Query)); got != "a=%2F&v=2" {
		t.Errorf("query %q", got)
	}
	if got := string(x.UpstreamHost()); got != "internal.example:8080" {
		t.Errorf("host %q", got)
	}
	// The regexp's match costs its one slice; everything else nothing.
	if n := testing.AllocsPerRun(100, run); n > 1 {
		t.Errorf("%v allocs per request, want at most 1 (the regexp's)", n)
	}
}

func TestTransformRequestAllocatesNothingWithoutRegexp(t *testing.T) {
	f := mustBuild(t, `{type: transform, request: {set_headers: {X-Tenant: "{claims.tenant}"}, add_headers: {X-Id: "{params.id}"},
  remove_headers: [Cookie], rename_headers: {X-Old: X-New}, set_query: {v: "{claims.tenant}"}, remove_query: [debug],
  replace_prefix: {from: /api/v1, to: /v1}, host: internal}}`)
	c := filter.NewChain(f)
	r := newRequest(t, "/api/v1/users/:id", "GET /api/v1/users/42?debug=1&a=b HTTP/1.1\r\nHost: h\r\nX-Old: o\r\n\r\n", `{"tenant":"acme"}`)
	var x filter.Exchange
	run := func() { r.start(&x, ""); c.Run(&x, 0) }
	run()
	if got := string(x.ForwardPath(r.norm, nil)) + "?" + string(x.ForwardQuery(r.req.Query)); got != "/v1/users/42?a=b&v=acme" {
		t.Errorf("target %q", got)
	}
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocs per request, want 0", n)
	}
}

// TestClaimWithCRLFInjectsNoHeader: a claim carrying "\r\n" renders a
// value the head cannot carry; the header is not sent (and the client's
// copy is still dropped), so no line can be injected.
func TestClaimWithCRLFInjectsNoHeader(t *testing.T) {
	f := mustBuild(t, `{type: transform, request: {set_headers: {X-Tenant: "{claims.tenant}"}, add_headers: {X-Org: "{claims.org}", X-Ok: ok}}}`)
	r := newRequest(t, "/*", "GET /x HTTP/1.1\r\nHost: h\r\nX-Tenant: forged\r\n\r\n", `{"tenant":"acme\r\nX-Admin: true","org":"a\u0000b"}`)
	var x filter.Exchange
	r.start(&x, "")
	f.Request(&x)
	if got := upstreamLines(&x); got != "X-Ok: ok\r\n" {
		t.Errorf("upstream lines %q, want only X-Ok", got)
	}
	if !x.Stripped([]byte("X-Tenant")) {
		t.Error("the client's X-Tenant survives a refused set")
	}
}

// TestRewriteSeesStripPrefix: the path edits work on what would be
// forwarded, the routed path less strip_prefix; an unmatched prefix leaves
// strip_prefix's result.
func TestRewriteSeesStripPrefix(t *testing.T) {
	f := mustBuild(t, "{type: transform, request: {replace_prefix: {from: /v1, to: /internal/v1}}}")
	for path, want := range map[string]string{"/api/v1/x": "/internal/v1/x", "/api/v2/x": "/v2/x", "/api": "/"} {
		r := newRequest(t, "/api/*", "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n", "")
		var x filter.Exchange
		r.start(&x, "/api")
		f.Request(&x)
		if got := string(x.ForwardPath(r.norm, []byte("/api"))); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

// TestInvalidRewriteAnswers500: a rewrite whose result is no path is the
// config's fault: 500, the request not forwarded.
func TestInvalidRewriteAnswers500(t *testing.T) {
	f := mustBuild(t, `{type: transform, request: {rewrite: {regex: "^/(.*)$", to: "$1"}}}`)
	r := newRequest(t, "/*", "GET /abc HTTP/1.1\r\nHost: h\r\n\r\n", "")
	var x filter.Exchange
	r.start(&x, "")
	x.Now = 1
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)
	for range 3 { // one line a second, however many refusals
		if v := f.Request(&x); v != filter.Respond || x.Status != 500 || x.Message != msgBadRewrite {
			t.Errorf("verdict %v, %d %q; want Respond, 500", v, x.Status, x.Message)
		}
	}
	if got := logs.String(); strings.Count(got, "path rewrite refused") != 1 || !strings.Contains(got, "rewritten=abc") {
		t.Errorf("log %q, want one line naming the rewritten path", got)
	}
}

func TestTransformResponse(t *testing.T) {
	f := mustBuild(t, shapeInst)
	if _, ok := mustBuild(t, "{type: transform, request: {host: h}}").(filter.ResponseHeadFilter); ok {
		t.Error("a request-only transform has a response phase")
	}
	c := filter.NewChain(f)
	var x filter.Exchange
	upstream := []http1.Header{{Name: []byte("Server"), Value: []byte("nginx")}}
	run := func() {
		x.Reset(nil)
		c.ResponseHead(&x, 1, 200, upstream, false)
	}
	run()
	if got := string(x.ResponseHeaders()); got != "X-Frame-Options: DENY\r\n" || !x.ResponseRemoved([]byte("server")) {
		t.Errorf("response lines %q, Server removed %v", got, x.ResponseRemoved([]byte("server")))
	}
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocs per response, want 0", n)
	}
}

func TestNeedsClaims(t *testing.T) {
	for inst, want := range map[string]bool{
		`{type: transform, request: {set_headers: {X-T: "{claims.t}"}}}`:  true,
		`{type: transform, request: {add_query: {t: "{claims.t}"}}}`:      true,
		`{type: transform, request: {set_headers: {X-T: "{consumer}"}}}`:  false,
		`{type: transform, response: {set_headers: {X-T: "{claims.t}"}}}`: false, // response values are literals
	} {
		if got := mustBuild(t, inst).(filter.ClaimsChecker).NeedsClaims(); got != want {
			t.Errorf("%s: NeedsClaims %v, want %v", inst, got, want)
		}
	}
}
