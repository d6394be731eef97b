package http1

import (
	"errors"
	"strings"
	"testing"
)

// want describes the expected result of a successful ParseRequest.
type want struct {
	method, target, path string
	query                *string // nil: Query must be nil
	minor                int
	host                 *string // nil: Host must be nil
	cl                   int64
	chunked, keepAlive   bool
	expect, upgrade      bool
	framing              Framing
	headers              int
	headLen              int // 0: the whole input
}

func sp(s string) *string { return &s }

var validRequests = []struct {
	name string
	in   string
	w    want
}{
	// The everyday case: GET with a query, HTTP/1.1 keeps the connection.
	{"get", "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
		want{method: "GET", target: "/a/b?x=1&y=2", path: "/a/b", query: sp("x=1&y=2"), minor: 1, host: sp("example.com"), cl: -1, keepAlive: true, headers: 2}},
	// HEAD with Content-Length: 0 is fine (no body).
	{"head cl0", "HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		want{method: "HEAD", target: "/", path: "/", minor: 1, host: sp("h"), cl: 0, keepAlive: true, headers: 2}},
	// POST with a body delimited by Content-Length; OWS around the value.
	{"post cl", "POST /submit HTTP/1.1\r\nHost: h:8080\r\nContent-Length: \t 42 \r\n\r\n",
		want{method: "POST", target: "/submit", path: "/submit", minor: 1, host: sp("h:8080"), cl: 42, keepAlive: true, framing: FramingLength, headers: 2}},
	// Chunked POST; the TE name and value in odd case.
	{"post chunked", "POST /up HTTP/1.1\r\nhost: h\r\ntRANSFER-eNCODING: ChUnKeD\r\n\r\n",
		want{method: "POST", target: "/up", path: "/up", minor: 1, host: sp("h"), cl: -1, chunked: true, keepAlive: true, framing: FramingChunked, headers: 2}},
	// Empty list elements around chunked are allowed (RFC 9110 §5.6.1).
	{"chunked empty elements", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked ,\r\n\r\n",
		want{method: "POST", target: "/", path: "/", minor: 1, host: sp("h"), cl: -1, chunked: true, keepAlive: true, framing: FramingChunked, headers: 2}},
	// HTTP/1.0 keeps the connection only when asked; Host is optional.
	{"http10 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		want{method: "GET", target: "/", path: "/", minor: 0, cl: -1, keepAlive: true, headers: 1}},
	// HTTP/1.0 without keep-alive closes.
	{"http10 close", "GET / HTTP/1.0\r\n\r\n",
		want{method: "GET", target: "/", path: "/", minor: 0, cl: -1}},
	// Expect: 100-continue from HTTP/1.0 is ignored (RFC 9110 §10.1.1).
	{"http10 expect ignored", "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
		want{method: "POST", target: "/", path: "/", minor: 0, cl: 1, framing: FramingLength, headers: 2}},
	// Connection: close on 1.1, token among others.
	{"http11 close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n",
		want{method: "GET", target: "/", path: "/", minor: 1, host: sp("h"), cl: -1, headers: 2}},
	// Expect: 100-continue is case-insensitive.
	{"expect", "PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n",
		want{method: "PUT", target: "/x", path: "/x", minor: 1, host: sp("h"), cl: 5, keepAlive: true, expect: true, framing: FramingLength, headers: 3}},
	// WebSocket-style upgrade needs both the Connection token and Upgrade.
	{"upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
		want{method: "GET", target: "/ws", path: "/ws", minor: 1, host: sp("h"), cl: -1, keepAlive: true, upgrade: true, headers: 3}},
	// Upgrade header without the Connection token is not an upgrade.
	{"upgrade header only", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
		want{method: "GET", target: "/ws", path: "/ws", minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 2}},
	// Leading empty lines before the request line are skipped (RFC 9112 §2.2).
	{"leading crlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		want{method: "GET", target: "/", path: "/", minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 1}},
	// A bare '?' gives an empty, non-nil query.
	{"empty query", "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n",
		want{method: "GET", target: "/p?", path: "/p", query: sp(""), minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 1}},
	// absolute-form: Host comes from the target, path defaults to "/".
	{"absolute form", "GET http://Example.com:81?q HTTP/1.1\r\nHost: other\r\n\r\n",
		want{method: "GET", target: "http://Example.com:81?q", path: "/", query: sp("q"), minor: 1, host: sp("Example.com:81"), cl: -1, keepAlive: true, headers: 1}},
	// absolute-form with https and a path.
	{"absolute https", "GET https://h/a/b HTTP/1.1\r\nHost: h\r\n\r\n",
		want{method: "GET", target: "https://h/a/b", path: "/a/b", minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 1}},
	// asterisk-form with OPTIONS.
	{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		want{method: "OPTIONS", target: "*", path: "*", minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 1}},
	// authority-form with CONNECT: no path.
	{"connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		want{method: "CONNECT", target: "example.com:443", minor: 1, host: sp("example.com:443"), cl: -1, keepAlive: true, headers: 1}},
	// IPv6 literal in Host.
	{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		want{method: "GET", target: "/", path: "/", minor: 1, host: sp("[::1]:8080"), cl: -1, keepAlive: true, headers: 1}},
	// Empty Host is allowed by RFC 9112 §3.2.
	{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		want{method: "GET", target: "/", path: "/", minor: 1, host: sp(""), cl: -1, keepAlive: true, headers: 1}},
	// Extension method, obs-text and HTAB in a value, tchar-rich name.
	{"odd but valid", "PURGE /c HTTP/1.1\r\nHost: h\r\nX-!#$%&'*+.^_`|~: a\tb \xff\r\n\r\n",
		want{method: "PURGE", target: "/c", path: "/c", minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 2}},
	// Visible ASCII that RFC 3986 would escape is still passed on.
	{"loose target chars", "GET /a\"<>{}|\\^`[]?b=c HTTP/1.1\r\nHost: h\r\n\r\n",
		want{method: "GET", target: "/a\"<>{}|\\^`[]?b=c", path: "/a\"<>{}|\\^`[]", query: sp("b=c"), minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 1}},
	// Pipelined: only the first request is parsed; HeadLen points at the next.
	{"pipelined", "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
		want{method: "GET", target: "/1", path: "/1", minor: 1, host: sp("h"), cl: -1, keepAlive: true, headers: 1, headLen: 28}},
	// A body after the head is not part of the head.
	{"body follows", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
		want{method: "POST", target: "/", path: "/", minor: 1, host: sp("h"), cl: 3, keepAlive: true, framing: FramingLength, headers: 2, headLen: 47}},
}

func checkRequest(t *testing.T, in []byte, r *Request, n int, w want) {
	t.Helper()
	headLen := w.headLen
	if headLen == 0 {
		headLen = len(in)
	}
	if n != headLen || r.HeadLen != headLen {
		t.Errorf("n=%d HeadLen=%d, want %d", n, r.HeadLen, headLen)
	}
	if string(r.Method) != w.method || string(r.Target) != w.target || string(r.Path) != w.path {
		t.Errorf("method/target/path = %q %q %q, want %q %q %q", r.Method, r.Target, r.Path, w.method, w.target, w.path)
	}
	if (w.path == "") != (r.Path == nil) {
		t.Errorf("Path nil = %v", r.Path == nil)
	}
	if w.query == nil && r.Query != nil || w.query != nil && (r.Query == nil || string(r.Query) != *w.query) {
		t.Errorf("Query = %q (nil %v), want %v", r.Query, r.Query == nil, w.query)
	}
	if w.host == nil && r.Host != nil || w.host != nil && (r.Host == nil || string(r.Host) != *w.host) {
		t.Errorf("Host = %q (nil %v)", r.Host, r.Host == nil)
	}
	if r.Minor != w.minor || r.ContentLength != w.cl || r.Chunked != w.chunked || r.KeepAlive != w.keepAlive ||
		r.Expect100 != w.expect || r.Upgrade != w.upgrade || len(r.Headers) != w.headers {
		t.Errorf("got minor=%d cl=%d chunked=%v ka=%v expect=%v upgrade=%v headers=%d, want %+v",
			r.Minor, r.ContentLength, r.Chunked, r.KeepAlive, r.Expect100, r.Upgrade, len(r.Headers), w)
	}
	if f := RequestFraming(r); f != w.framing {
		t.Errorf("framing = %v, want %v", f, w.framing)
	}
}

func TestParseRequestValid(t *testing.T) {
	var r Request
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseRequest([]byte(tc.in), &r, nil)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			checkRequest(t, []byte(tc.in), &r, n, tc.w)
		})
	}
}

// TestParseRequestSplit feeds every prefix of each valid request: each must
// be ErrIncomplete until the head is complete, then give the same result.
func TestParseRequestSplit(t *testing.T) {
	var r Request
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			headLen := tc.w.headLen
			if headLen == 0 {
				headLen = len(in)
			}
			for k := 0; k < headLen; k++ {
				// Copy so views cannot see bytes past the prefix.
				p := append([]byte(nil), in[:k]...)
				if n, err := ParseRequest(p, &r, nil); err != ErrIncomplete || n != 0 {
					t.Fatalf("prefix %d: n=%d err=%v, want ErrIncomplete", k, n, err)
				}
			}
			for k := headLen; k <= len(in); k++ {
				n, err := ParseRequest(in[:k], &r, nil)
				if err != nil {
					t.Fatalf("prefix %d: %v", k, err)
				}
				checkRequest(t, in, &r, n, tc.w)
			}
		})
	}
}

// TestParseRequestPipelined parses two requests from one buffer, one at a
// time, by advancing HeadLen.
func TestParseRequestPipelined(t *testing.T) {
	buf := []byte("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: c\r\n\r\n")
	var r Request
	paths := []string{"/1", "/2", "/3"}
	for i, p := range paths {
		n, err := ParseRequest(buf, &r, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(r.Path) != p {
			t.Fatalf("request %d: path %q", i, r.Path)
		}
		buf = buf[n+int(max(r.ContentLength, 0)):]
	}
	if len(buf) != 0 {
		t.Fatalf("left over %q", buf)
	}
	if _, err := ParseRequest(buf, &r, nil); err != ErrIncomplete {
		t.Fatalf("empty buffer: %v", err)
	}
}

const h = "Host: h\r\n"

var badRequests = []struct {
	name string
	in   string
	err  error
}{
	// --- request line ---
	{"lowercase version", "GET / http/1.1\r\n" + h + "\r\n", ErrMalformedVersion},
	{"HTTP/2.0 is 505", "GET / HTTP/2.0\r\n" + h + "\r\n", ErrBadVersion},
	{"HTTP/1.2 is 505", "GET / HTTP/1.2\r\n" + h + "\r\n", ErrBadVersion},
	{"HTTP/0.9 is 400", "GET / HTTP/0.9\r\n" + h + "\r\n", ErrMalformedVersion},
	{"HTTP/1.10", "GET / HTTP/1.10\r\n" + h + "\r\n", ErrMalformedVersion},
	{"no version (0.9 style)", "GET /\r\n" + h + "\r\n", ErrBadRequestLine},
	{"double space", "GET  / HTTP/1.1\r\n" + h + "\r\n", ErrBadRequestLine},
	{"trailing space", "GET / HTTP/1.1 \r\n" + h + "\r\n", ErrMalformedVersion},
	{"tab separator", "GET\t/ HTTP/1.1\r\n" + h + "\r\n", ErrBadRequestLine},
	{"method not a token", "GE(T / HTTP/1.1\r\n" + h + "\r\n", ErrBadRequestLine},
	{"empty method", " / HTTP/1.1\r\n" + h + "\r\n", ErrBadRequestLine},
	{"bare LF after request line", "GET / HTTP/1.1\n" + h + "\r\n", ErrBareLF},
	{"bare CR in request line", "GET /\r HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"leading bare LF", "\nGET / HTTP/1.1\r\n" + h + "\r\n", ErrBareLF},
	{"too many leading CRLF", strings.Repeat("\r\n", 5) + "GET / HTTP/1.1\r\n" + h + "\r\n", ErrBadRequestLine},
	{"leading CR without LF", "\rGET / HTTP/1.1\r\n" + h + "\r\n", ErrBadRequestLine},
	// --- request-target ---
	{"fragment", "GET /a#b HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"control byte in target", "GET /a\x01 HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"DEL in target", "GET /a\x7f HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"non-ASCII target", "GET /\xd0\xb0 HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"space in target", "GET /a b HTTP/1.1\r\n" + h + "\r\n", ErrMalformedVersion},
	{"relative target", "GET a/b HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"asterisk without OPTIONS", "GET * HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"CONNECT origin-form", "CONNECT / HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"CONNECT without port", "CONNECT example.com HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"authority-form without CONNECT", "GET example.com:80 HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"ftp scheme", "GET ftp://h/ HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"absolute userinfo", "GET http://u@h/ HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	{"absolute empty host", "GET http:///a HTTP/1.1\r\n" + h + "\r\n", ErrBadTarget},
	// --- header syntax ---
	{"space before colon", "GET / HTTP/1.1\r\n" + h + "Foo : bar\r\n\r\n", ErrBadHeader},
	{"tab before colon", "GET / HTTP/1.1\r\n" + h + "Foo\t: bar\r\n\r\n", ErrBadHeader},
	{"no colon", "GET / HTTP/1.1\r\n" + h + "Foo bar\r\n\r\n", ErrBadHeader},
	{"empty name", "GET / HTTP/1.1\r\n" + h + ": bar\r\n\r\n", ErrBadHeader},
	{"non-token name", "GET / HTTP/1.1\r\n" + h + "Fo(o: bar\r\n\r\n", ErrBadHeader},
	{"non-ASCII name", "GET / HTTP/1.1\r\n" + h + "F\xc3\xb6o: bar\r\n\r\n", ErrBadHeader},
	{"NUL in value", "GET / HTTP/1.1\r\n" + h + "Foo: b\x00ar\r\n\r\n", ErrBadHeader},
	{"DEL in value", "GET / HTTP/1.1\r\n" + h + "Foo: b\x7far\r\n\r\n", ErrBadHeader},
	{"bare CR in value", "GET / HTTP/1.1\r\n" + h + "Foo: b\rar\r\n\r\n", ErrBadHeader},
	{"CR CR LF", "GET / HTTP/1.1\r\n" + h + "Foo: bar\r\r\n\r\n", ErrBadHeader},
	{"bare CR as line end", "GET / HTTP/1.1\r\n" + h + "Foo: bar\rX: y\r\n\r\n", ErrBadHeader},
	{"bare LF in header line", "GET / HTTP/1.1\r\n" + h + "Foo: bar\nX: y\r\n\r\n", ErrBareLF},
	{"bare LF final line", "GET / HTTP/1.1\r\n" + h + "\n", ErrBareLF},
	{"CR then junk at end", "GET / HTTP/1.1\r\n" + h + "\rx", ErrBadHeader},
	{"obs-fold", "GET / HTTP/1.1\r\n" + h + "Foo: bar\r\n baz\r\n\r\n", ErrObsFold},
	{"obs-fold tab", "GET / HTTP/1.1\r\n" + h + "Foo: bar\r\n\tbaz\r\n\r\n", ErrObsFold},
	{"whitespace before first field", "GET / HTTP/1.1\r\n " + h + "\r\n", ErrBadHeader},
	{"underscore Transfer_Encoding", "POST / HTTP/1.1\r\n" + h + "Transfer_Encoding: chunked\r\n\r\n", ErrSuspiciousHeader},
	{"dashes Content--Length", "POST / HTTP/1.1\r\n" + h + "Content--Length: 5\r\n\r\n", ErrSuspiciousHeader},
	// --- Content-Length ---
	{"CL sign", "POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\n", ErrBadContentLength},
	{"CL negative", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", ErrBadContentLength},
	{"CL inner space", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1 0\r\n\r\n", ErrBadContentLength},
	{"CL hex", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x10\r\n\r\n", ErrBadContentLength},
	{"CL empty", "POST / HTTP/1.1\r\n" + h + "Content-Length: \r\n\r\n", ErrBadContentLength},
	{"CL overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 9223372036854775808\r\n\r\n", ErrBadContentLength},
	{"CL 20 digits", "POST / HTTP/1.1\r\n" + h + "Content-Length: 00000000000000000001\r\n\r\n", ErrBadContentLength},
	{"CL trailing comma", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5,\r\n\r\n", ErrBadContentLength},
	{"CL differing fields", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", ErrMultipleContentLength},
	{"CL differing list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 6\r\n\r\n", ErrMultipleContentLength},
	{"CL identical fields (strict default)", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", ErrDuplicateContentLength},
	{"CL identical list (strict default)", "POST / HTTP/1.1\r\n" + h + "Content-Length: 42, 42\r\n\r\n", ErrDuplicateContentLength},
	// --- Transfer-Encoding ---
	{"TE and CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", ErrAmbiguousFraming},
	{"CL and TE", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ErrAmbiguousFraming},
	{"TE gzip and CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", ErrAmbiguousFraming},
	{"chunked not final", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n", ErrBadTransferEncoding},
	{"chunked not final across fields", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", ErrBadTransferEncoding},
	{"chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n", ErrBadTransferEncoding},
	{"chunked twice across fields", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBadTransferEncoding},
	{"only gzip", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", ErrBadTransferEncoding},
	{"xchunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n", ErrBadTransferEncoding},
	{"empty TE", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \r\n\r\n", ErrBadTransferEncoding},
	{"chunked with params", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;a=b\r\n\r\n", ErrBadTransferEncoding},
	{"obs-text after chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\xa0\r\n\r\n", ErrBadTransferEncoding},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBadTransferEncoding},
	{"gzip then chunked is 501", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"param on other coding is 501", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: foo;q=\"a,b\", chunked\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"GET with CL", "GET / HTTP/1.1\r\n" + h + "Content-Length: 1\r\n\r\n", ErrUnexpectedBody},
	{"HEAD with chunked", "HEAD / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n", ErrUnexpectedBody},
	// --- Host ---
	{"missing host", "GET / HTTP/1.1\r\n\r\n", ErrMissingHost},
	{"missing host absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n", ErrMissingHost},
	{"duplicate host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", ErrDuplicateHost},
	{"duplicate host 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", ErrDuplicateHost},
	{"host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ErrBadHost},
	{"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ErrBadHost},
	{"host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", ErrBadHost},
	{"host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", ErrBadHost},
	{"host long port", "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n", ErrBadHost},
	{"host bad pct", "GET / HTTP/1.1\r\nHost: a%g0\r\n\r\n", ErrBadHost},
	{"host truncated pct", "GET / HTTP/1.1\r\nHost: a%4\r\n\r\n", ErrBadHost},
	{"host unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", ErrBadHost},
}

func TestParseRequestReject(t *testing.T) {
	var r Request
	for _, tc := range badRequests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseRequest([]byte(tc.in), &r, nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if n != 0 {
				t.Errorf("n = %d on error", n)
			}
			if StatusOf(err) != tc.err.(*Error).Status {
				t.Errorf("status %d", StatusOf(err))
			}
		})
	}
}

// TestParseRequestOptIns checks the Limits flags that relax the strict
// defaults.
func TestParseRequestOptIns(t *testing.T) {
	var r Request
	lim := &Limits{AllowDuplicateContentLength: true, AllowGETBody: true}
	for _, in := range []string{
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42, 42\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\nContent-Length: 42\r\n\r\n",
	} {
		if _, err := ParseRequest([]byte(in), &r, lim); err != nil || r.ContentLength != 42 {
			t.Errorf("%q: err=%v cl=%d", in, err, r.ContentLength)
		}
	}
	in := "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42, 43\r\n\r\n"
	if _, err := ParseRequest([]byte(in), &r, lim); err != ErrMultipleContentLength {
		t.Errorf("differing values: %v", err)
	}
	in = "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n"
	if _, err := ParseRequest([]byte(in), &r, lim); err != nil || RequestFraming(&r) != FramingLength {
		t.Errorf("GET body: %v", err)
	}
}

func TestParseRequestLimits(t *testing.T) {
	var r Request
	lim := &Limits{MaxHeaderBytes: 64, MaxURIBytes: 16, MaxHeaders: 2}
	cases := []struct {
		name string
		in   string
		err  error
	}{
		// Exactly at the URI limit is fine.
		{"uri at limit", "GET /" + strings.Repeat("a", 15) + " HTTP/1.1\r\nHost: h\r\n\r\n", nil},
		// One byte over, complete line.
		{"uri over", "GET /" + strings.Repeat("a", 16) + " HTTP/1.1\r\nHost: h\r\n\r\n", ErrURITooLong},
		// One byte over, line not complete yet: reported early.
		{"uri over partial", "GET /" + strings.Repeat("a", 16), ErrURITooLong},
		// Partial but within limits.
		{"uri partial ok", "GET /" + strings.Repeat("a", 15), ErrIncomplete},
		// A line with no space that is already longer than any target.
		{"no space long", strings.Repeat("A", 17), ErrURITooLong},
		// Head exactly at the limit (64 bytes) is accepted.
		{"head at limit", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 32) + "\r\n\r\n", nil},
		// One more byte is too large.
		{"head over", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 33) + "\r\n\r\n", ErrHeaderTooLarge},
		// Incomplete but already at the limit.
		{"incomplete full", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 36), ErrHeaderTooLarge},
		// Incomplete, at the limit, ending in the final CR.
		{"incomplete full CR", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 32) + "\r\n\r", ErrIncomplete},
		// Two fields are fine, three are too many.
		{"headers at limit", "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n", nil},
		{"too many headers", "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\nC: d\r\n\r\n", ErrTooManyHeaders},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest([]byte(tc.in), &r, lim)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	// Defaults: a 9 KiB target is 414, a 33 KiB header 431, 101 fields 431.
	big := "GET /" + strings.Repeat("a", 9<<10) + " HTTP/1.1\r\nHost: h\r\n\r\n"
	if _, err := ParseRequest([]byte(big), &r, nil); err != ErrURITooLong || StatusOf(err) != 414 {
		t.Errorf("default uri limit: %v", err)
	}
	big = "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 33<<10) + "\r\n\r\n"
	if _, err := ParseRequest([]byte(big), &r, nil); err != ErrHeaderTooLarge || StatusOf(err) != 431 {
		t.Errorf("default header limit: %v", err)
	}
	// A buffer far beyond the limit with no line end at all: 431 (the
	// search stops at the limit), or 414 once a target has begun.
	big = strings.Repeat("A", 1<<20)
	if _, err := ParseRequest([]byte(big), &r, &Limits{MaxURIBytes: 64 << 10}); err != ErrHeaderTooLarge {
		t.Errorf("no LF: %v", err)
	}
	big = "GET /" + strings.Repeat("a", 40<<10)
	if _, err := ParseRequest([]byte(big), &r, nil); err != ErrURITooLong {
		t.Errorf("long partial target: %v", err)
	}
	big = "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: y\r\n", 100) + "\r\n"
	if _, err := ParseRequest([]byte(big), &r, nil); err != ErrTooManyHeaders {
		t.Errorf("default header count: %v", err)
	}
}

func TestRequestHeaderLookupAndReset(t *testing.T) {
	var r Request
	in := []byte("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
	if _, err := ParseRequest(in, &r, nil); err != nil {
		t.Fatal(err)
	}
	if string(r.Header("X-a")) != "1" || r.Header("missing") != nil {
		t.Fatalf("lookup: %q", r.Header("X-a"))
	}
	c := cap(r.Headers)
	r.Reset()
	if len(r.Headers) != 0 || cap(r.Headers) != c || r.ContentLength != -1 || r.Method != nil {
		t.Fatalf("reset: %+v", r)
	}
}

// TestParseRequestZeroAlloc pins the steady-state allocation count.
func TestParseRequestZeroAlloc(t *testing.T) {
	in := []byte(benchRequest)
	var r Request
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseRequest(in, &r, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs = %v", allocs)
	}
}
