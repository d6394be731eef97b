package cors

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func buildText(t testing.TB, inst string) (*Filter, error) {
	t.Helper()
	c, err := config.Parse("h.yaml", []byte("middleware:\n  h: "+inst+"\n"))
	if err != nil {
		return nil, err
	}
	f, err := filter.Build(c.Middleware["h"])
	if err != nil {
		return nil, err
	}
	return f.(*Filter), nil
}

func TestCORSConfigErrors(t *testing.T) {
	cases := []struct{ inst, want string }{
		{"{type: cors}", "h.yaml:2:3: middleware.h: allow_origins is required"},
		{"{type: cors, allow_origins: ['https://*foo']}", `h.yaml:2:34: middleware.h.allow_origins: "https://*foo": bad origin pattern`},
		{"{type: cors, allow_origins: ['https://app.example.com/']}", "no user, path, query or fragment"},
		{"{type: cors, allow_origins: ['*'], allow_credentials: true}", `h.yaml:2:60: middleware.h.allow_credentials: true with allow_origins "*" would let every site read`},
		{"{type: cors, allow_origins: ['*', 'https://a.example.com']}", `"*" allows every origin: list it alone`},
		{"{type: cors, allow_origins: ['https://a.example.com'], max_age: -1m}", `h.yaml:2:70: middleware.h: negative duration "-1m"`},
		{"{type: cors, allow_origins: ['https://a.example.com'], max_age: 600}", "has no unit"},
		{"{type: cors, allow_origins: ['https://a.example.com'], max_age: 1500ms}", "1.5s is not whole seconds"},
		{"{type: cors, allow_origins: ['https://a.example.com'], allow_origin: x}", `unknown field "allow_origin"`},
		{"{type: cors, allow_origins: ['https://a.example.com'], allow_methods: ['GE T']}", `"GE T" is not a method`},
		{"{type: cors, allow_origins: ['https://a.example.com'], allow_methods: ['*', PUT]}", `allow_methods: "*" allows every one: list it alone`},
		{"{type: cors, allow_origins: ['https://a.example.com'], allow_headers: ['Bad Name']}", `allow_headers: "Bad Name" is not a header name`},
		{"{type: cors, allow_origins: ['https://a.example.com'], expose_headers: ['X:Y']}", `expose_headers: "X:Y" is not a header name`},
		{"{type: cors, allow_origins: ['https://a.example.com'], allow_credentials: true, expose_headers: ['*']}", `with allow_credentials name the headers`},
		{"{type: cors, allow_origins: 'https://a.example.com'}", "h.yaml:2:34: middleware.h: expected a list, got a string"},
	}
	for _, tc := range cases {
		if _, err := buildText(t, tc.inst); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", tc.inst, err, tc.want)
		}
	}
}

// exchange drives one cors filter as the engine does: Request on a parsed
// head, then ResponseHead and Finish.
type exchange struct {
	c    *filter.Chain
	x    filter.Exchange
	req  http1.Request
	head http.Header // what the client would get
}

func newExchange(t testing.TB, inst string) *exchange {
	t.Helper()
	f, err := buildText(t, inst)
	if err != nil {
		t.Fatal(err)
	}
	return &exchange{c: filter.NewChain(f)}
}

// request runs the request phase on raw (a head without the final CRLF),
// then, unless the filter answered, the response phase on an upstream
// response with headers up (local: a gateway error instead), and returns
// the verdict. e.head holds the head the client would get.
func (e *exchange) request(t testing.TB, raw string, up []http1.Header, local bool) filter.Verdict {
	buf := []byte(raw + "\r\n")
	if _, err := http1.ParseRequest(buf, &e.req, nil); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	x := &e.x
	x.Reset(nil)
	x.Req, x.Method = &e.req, e.req.Method
	v, _ := e.c.Run(x, 0)
	e.head = http.Header{}
	switch v {
	case filter.Respond:
		if lines, _, ok := x.LocalReply(); ok {
			addLines(e.head, lines)
		}
	case filter.Continue:
		status := 200
		if local {
			status, up = 401, nil
		}
		x.Req = nil
		e.c.ResponseHead(x, 1, status, up, local)
		for _, h := range up {
			if !x.ResponseRemoved(h.Name) {
				e.head.Add(string(h.Name), string(h.Value))
			}
		}
	}
	addLines(e.head, x.ResponseHeaders())
	e.c.Finish(x)
	return v
}

func addLines(h http.Header, lines []byte) {
	for line := range strings.SplitSeq(strings.TrimSuffix(string(lines), "\r\n"), "\r\n") {
		if name, value, ok := strings.Cut(line, ": "); ok {
			h.Add(name, value)
		}
	}
}

// corsOnly keeps the headers a browser's CORS check reads, and Vary.
func corsOnly(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			out[k] = strings.Join(v, " | ")
		}
	}
	return out
}

const appConfig = `{type: cors, allow_origins: ["https://app.example.com", "https://*.example.com"], allow_methods: [GET, PUT],
    allow_headers: [X-Custom], expose_headers: [X-Request-ID, X-Total], allow_credentials: true, max_age: 10m}`

const preflightPut = "OPTIONS /r HTTP/1.1\r\nHost: api\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\n"

func TestCORSPreflight(t *testing.T) {
	grant := func(origin string) map[string]string {
		return map[string]string{
			"Access-Control-Allow-Origin":      origin,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "GET, HEAD, POST, PUT",
			"Access-Control-Allow-Headers":     "Accept, Accept-Language, Content-Language, Content-Type, X-Custom",
			"Access-Control-Max-Age":           "600",
			"Vary":                             "Origin",
		}
	}
	cases := []struct {
		name, raw string
		status    int    // 0: not a preflight, the request goes on
		msg       string // the 403's
		want      map[string]string
	}{
		{"allowed", preflightPut + "Access-Control-Request-Headers: x-custom,content-type\r\n", 204, "", grant("https://app.example.com")},
		{"header names in any case, with OWS", preflightPut + "Access-Control-Request-Headers: X-CUSTOM , Content-Type,\r\n", 204, "", grant("https://app.example.com")},
		{"no headers asked", preflightPut, 204, "", grant("https://app.example.com")},
		{"pattern origin echoed", strings.Replace(preflightPut, "app.", "shop.", 1), 204, "", grant("https://shop.example.com")},
		{"safelisted method not listed", strings.Replace(preflightPut, "Method: PUT", "Method: POST", 1), 204, "", grant("https://app.example.com")},
		{"origin not allowed", strings.Replace(preflightPut, "app.example.com", "evil.test", 1), 403, msgOrigin, map[string]string{}},
		{"origin under two labels", strings.Replace(preflightPut, "app.", "a.b.", 1), 403, msgOrigin, map[string]string{}},
		{"method not allowed", strings.Replace(preflightPut, "Method: PUT", "Method: DELETE", 1), 403, msgMethod, map[string]string{}},
		{"an empty method", strings.Replace(preflightPut, "Method: PUT", "Method:", 1), 403, msgMethod, map[string]string{}},
		{"methods are case-sensitive", strings.Replace(preflightPut, "Method: PUT", "Method: put", 1), 403, msgMethod, map[string]string{}},
		{"header not allowed", preflightPut + "Access-Control-Request-Headers: x-custom, x-other\r\n", 403, msgHeader, map[string]string{}},
		{"every header line is checked", preflightPut + "Access-Control-Request-Headers: x-custom\r\nAccess-Control-Request-Headers: authorization\r\n", 403, msgHeader, map[string]string{}},
		{"OPTIONS without the method is no preflight", "OPTIONS /r HTTP/1.1\r\nHost: api\r\nOrigin: https://app.example.com\r\n", 0, "", map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "X-Request-ID, X-Total", "Vary": "Origin"}},
		{"no Origin: no preflight", "OPTIONS /r HTTP/1.1\r\nHost: api\r\nAccess-Control-Request-Method: PUT\r\n", 0, "", map[string]string{"Vary": "Origin"}},
		{"GET with the method header is no preflight", strings.Replace(preflightPut, "OPTIONS", "GET", 1), 0, "", map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "X-Request-ID, X-Total", "Vary": "Origin"}},
	}
	e := newExchange(t, appConfig)
	for _, tc := range cases {
		v := e.request(t, tc.raw, nil, false)
		switch {
		case tc.status == 0 && v != filter.Continue:
			t.Errorf("%s: verdict %d, want Continue", tc.name, v)
		case tc.status != 0 && (v != filter.Respond || e.x.Status != tc.status || e.x.Message != tc.msg):
			t.Errorf("%s: verdict %d status %d %q, want %d %q", tc.name, v, e.x.Status, e.x.Message, tc.status, tc.msg)
		}
		if got := corsOnly(e.head); !mapsEqual(got, tc.want) {
			t.Errorf("%s: headers\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

func TestCORSActualRequests(t *testing.T) {
	upCORS := []http1.Header{
		{Name: []byte("access-control-allow-origin"), Value: []byte("*")},
		{Name: []byte("Access-Control-Allow-Methods"), Value: []byte("DELETE")},
		{Name: []byte("Access-Control-Custom"), Value: []byte("kept")},
		{Name: []byte("Vary"), Value: []byte("Accept-Encoding, origin")},
		{Name: []byte("X-Total"), Value: []byte("3")},
	}
	granted := func(origin string) map[string]string {
		return map[string]string{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "X-Request-ID, X-Total", "Vary": "Origin"}
	}
	get := func(origin string) string {
		if origin == "" {
			return "GET /r HTTP/1.1\r\nHost: api\r\n"
		}
		return "GET /r HTTP/1.1\r\nHost: api\r\nOrigin: " + origin + "\r\n"
	}
	cases := []struct {
		name, raw string
		up        []http1.Header
		local     bool
		want      map[string]string
	}{
		{"exact origin", get("https://app.example.com"), nil, false, granted("https://app.example.com")},
		{"pattern origin echoed", get("https://a.example.com"), nil, false, granted("https://a.example.com")},
		{"disallowed origin: only Vary", get("https://example.com"), nil, false, map[string]string{"Vary": "Origin"}},
		{"no Origin: only Vary", get(""), nil, false, map[string]string{"Vary": "Origin"}},
		{"a gateway error carries the grant", get("https://b.example.com"), nil, true, granted("https://b.example.com")},
		{"a gateway error to a disallowed origin: only Vary", get("https://evil.test"), nil, true, map[string]string{"Vary": "Origin"}},
		{"the upstream's policy is dropped, its Vary kept", get("https://app.example.com"), upCORS, false, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers": "X-Request-ID, X-Total", "Access-Control-Custom": "kept", "Vary": "Accept-Encoding, origin"}},
		{"... also for a disallowed origin", get("https://evil.test"), upCORS, false, map[string]string{
			"Access-Control-Custom": "kept", "Vary": "Accept-Encoding, origin"}},
	}
	e := newExchange(t, appConfig)
	for _, tc := range cases {
		if v := e.request(t, tc.raw, tc.up, tc.local); v != filter.Continue {
			t.Fatalf("%s: verdict %d", tc.name, v)
		}
		if got := corsOnly(e.head); !mapsEqual(got, tc.want) {
			t.Errorf("%s: headers\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

// TestCORSWildcard: "*" without credentials is the same answer for every
// request, so no Vary: Origin, and "*" even without an Origin.
func TestCORSWildcard(t *testing.T) {
	e := newExchange(t, `{type: cors, allow_origins: ["*"], allow_methods: ["*"], allow_headers: ["*"], expose_headers: ["*"], max_age: 0s}`)
	for _, raw := range []string{"GET / HTTP/1.1\r\nHost: a\r\nOrigin: https://any.test\r\n", "GET / HTTP/1.1\r\nHost: a\r\n"} {
		e.request(t, raw, []http1.Header{{Name: []byte("Vary"), Value: []byte("Accept")}}, false)
		if got, want := corsOnly(e.head), map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "*", "Vary": "Accept"}; !mapsEqual(got, want) {
			t.Errorf("%q: %v, want %v", raw, got, want)
		}
	}
	if v := e.request(t, "OPTIONS / HTTP/1.1\r\nHost: a\r\nOrigin: https://any.test\r\nAccess-Control-Request-Method: P(T\r\n", nil, false); v != filter.Respond || e.x.Status != 403 {
		t.Errorf("a method that is no token: verdict %d status %d, want 403", v, e.x.Status)
	}
	// "*" methods and headers echo what the preflight asks, since browsers
	// read a literal "*" for requests with credentials.
	v := e.request(t, "OPTIONS / HTTP/1.1\r\nHost: a\r\nOrigin: https://any.test\r\nAccess-Control-Request-Method: PURGE\r\nAccess-Control-Request-Headers: authorization,x-a\r\n", nil, false)
	want := map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PURGE",
		"Access-Control-Allow-Headers": "authorization,x-a", "Access-Control-Max-Age": "0"}
	if got := corsOnly(e.head); v != filter.Respond || e.x.Status != 204 || !mapsEqual(got, want) {
		t.Errorf("preflight: %d %v, want 204 %v", e.x.Status, got, want)
	}
}

func TestCORSPrivateNetwork(t *testing.T) {
	const pna = "Access-Control-Request-Private-Network: true\r\n"
	for _, tc := range []struct {
		inst, raw, want string
	}{
		{"{type: cors, allow_origins: ['https://app.example.com'], allow_methods: [PUT], allow_private_network: true}", preflightPut + pna, "true"},
		{"{type: cors, allow_origins: ['https://app.example.com'], allow_methods: [PUT], allow_private_network: true}", preflightPut, ""},
		{"{type: cors, allow_origins: ['https://app.example.com'], allow_methods: [PUT]}", preflightPut + pna, ""},
	} {
		e := newExchange(t, tc.inst)
		if e.request(t, tc.raw, nil, false); e.x.Status != 204 || e.head.Get("Access-Control-Allow-Private-Network") != tc.want {
			t.Errorf("%s %q: %d %v", tc.inst, tc.raw, e.x.Status, e.head)
		}
	}
}

// TestCORSNoAllocation: preflights, granted requests (exact and echoed
// origins) and refused ones cost no allocation once warm.
func TestCORSNoAllocation(t *testing.T) {
	e := newExchange(t, appConfig)
	up := []http1.Header{{Name: []byte("Access-Control-Allow-Origin"), Value: []byte("*")}}
	for _, raw := range []string{
		preflightPut + "Access-Control-Request-Headers: x-custom\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example.com\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nOrigin: https://pattern.example.com\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.test\r\n",
	} {
		buf := []byte(raw + "\r\n")
		run := func() {
			if _, err := http1.ParseRequest(buf, &e.req, nil); err != nil {
				t.Fatal(err)
			}
			x := &e.x
			x.Reset(nil)
			x.Req, x.Method = &e.req, e.req.Method
			if v, _ := e.c.Run(x, 0); v == filter.Continue {
				x.Req = nil
				e.c.ResponseHead(x, 1, 200, up, false)
			}
			e.c.Finish(x)
		}
		run()
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("%q: %v allocs per request, want 0", raw, n)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
