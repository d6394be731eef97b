package proxy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// split cuts a response into head (without the blank line) and body.
func split(out string) (head, body string) {
	head, body, _ = strings.Cut(out, "\r\n\r\n")
	return head, body
}

// TestErrorStatus checks the one error → status mapping end to end: each
// way a request can fail, the exact status line, the JSON error the client
// reads, the extra header it needs, and whether the connection survives.
func TestErrorStatus(t *testing.T) {
	cases := []struct {
		name, req string
		upstream  func(r *rig) // what the upstream side does; nil: never reached
		status    string       // status line
		msg       string       // the JSON error's message
		header    string       // a header line the answer must carry
		closes    bool         // Connection: close
		setup     func(r *rig) // before the request
		_         struct{}     // keep the literal keyed
	}{
		{name: "no route", req: "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n",
			status: "HTTP/1.1 404 Not Found", msg: "no route"},
		{name: "method not served", req: "POST /keep/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
			status: "HTTP/1.1 405 Method Not Allowed", msg: "method not allowed", header: "Allow: GET, HEAD"},
		{name: "asterisk form", req: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
			status: "HTTP/1.1 400 Bad Request", msg: "request-target form not supported"},
		{name: "body past max_body_bytes: unread, so close", req: "POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n",
			status: "HTTP/1.1 413 Content Too Large", msg: "request body too large", closes: true},
		{name: "parse error: close", req: "GET /a HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
			status: "HTTP/1.1 400 Bad Request", closes: true},
		{name: "path escaping the root", req: "GET /api/../../etc HTTP/1.1\r\nHost: a\r\n\r\n",
			status: "HTTP/1.1 400 Bad Request"},
		{name: "dial failed", req: "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n",
			upstream: func(r *rig) { r.failDial() },
			status:   "HTTP/1.1 502 Bad Gateway", msg: "upstream connect failed"},
		{name: "upstream closed before answering", req: "POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
			upstream: func(r *rig) { r.dial().hangUp() },
			status:   "HTTP/1.1 502 Bad Gateway", msg: "upstream closed the connection"},
		{name: "garbage head", req: "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n",
			upstream: func(r *rig) { r.dial().reply("SMTP ready\r\n\r\n") },
			status:   "HTTP/1.1 502 Bad Gateway", msg: "bad response head from upstream"},
		{name: "101 unasked", req: "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n",
			upstream: func(r *rig) { r.dial().reply("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n") },
			status:   "HTTP/1.1 502 Bad Gateway", msg: "upstream switched protocols unasked"},
		{name: "unknown transfer coding", req: "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n",
			upstream: func(r *rig) { r.dial().reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") },
			status:   "HTTP/1.1 502 Bad Gateway", msg: "unsupported transfer coding from upstream"},
		{name: "bad chunk before any byte went out", req: "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n",
			upstream: func(r *rig) { r.dial().reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") },
			status:   "HTTP/1.1 502 Bad Gateway", msg: "bad chunked response"},
		{name: "descriptor budget spent", req: "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n",
			setup:  func(r *rig) { r.lp.full = true },
			status: "HTTP/1.1 503 Service Unavailable", msg: "too many connections", header: "Retry-After: 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, timeoutConfig) // one target, no retries
			if tc.setup != nil {
				tc.setup(r)
			}
			cl := r.client("203.0.113.9")
			cl.send(tc.req)
			if tc.upstream != nil {
				tc.upstream(r)
			} else if len(r.lp.dials) > 0 {
				t.Fatal("the request reached for an upstream")
			}
			head, body := split(cl.c.takeOut())
			if got := statusLine(head); got != tc.status {
				t.Fatalf("status %q, want %q", got, tc.status)
			}
			if tc.msg != "" && !strings.HasPrefix(body, `{"error":"`+tc.msg+`","request_id":"`) {
				t.Errorf("body %q, want the JSON error %q", body, tc.msg)
			}
			if !strings.Contains(head, "\r\nContent-Type: application/json\r\n") ||
				!strings.Contains(head, "\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n") {
				t.Errorf("head does not describe the JSON body:\n%s", lines(head))
			}
			if tc.header != "" && !strings.Contains(head+"\r\n", "\r\n"+tc.header+"\r\n") {
				t.Errorf("no %q in\n%s", tc.header, lines(head))
			}
			if closing := strings.Contains(head, "\r\nConnection: close"); closing != tc.closes {
				t.Errorf("Connection: close %v, want %v", closing, tc.closes)
			}
		})
	}
}

// replyFilter answers every request locally with the status its X-Status
// header names, a text body and a header of its own.
type replyFilter struct{}

func (replyFilter) Request(x *filter.Exchange) filter.Verdict {
	status, _ := strconv.Atoi(string(x.Req.Header("X-Status")))
	return x.Reply(status, []byte("Content-Type: text/plain\r\nX-Mine: 1\r\n"), []byte("hello"))
}

func init() {
	filter.Register(filter.Type{Name: "test_reply", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) { return replyFilter{}, nil }})
}

// TestLocalReplyBodyGuard checks the one body guard of local answers
// (RFC 9110 §6.4.1, §8.6): HEAD gets the head with the Content-Length a GET
// would get and no body; 204 and 304 get neither; a status that is not
// final is the filter's bug and answers 500. The same guard covers the
// gateway's JSON errors.
func TestLocalReplyBodyGuard(t *testing.T) {
	cases := []struct {
		method, status string
		wantStatus     string
		length         string // the Content-Length line's value, "" = none
		body           string
	}{
		{"GET", "200", "HTTP/1.1 200 OK", "5", "hello"},
		{"HEAD", "200", "HTTP/1.1 200 OK", "5", ""},
		{"GET", "204", "HTTP/1.1 204 No Content", "", ""},
		{"GET", "304", "HTTP/1.1 304 Not Modified", "", ""},
		{"HEAD", "403", "HTTP/1.1 403 Forbidden", "5", ""},
		{"GET", "103", "HTTP/1.1 500 Internal Server Error", "json", "json"},
		{"HEAD", "0", "HTTP/1.1 500 Internal Server Error", "json", ""},
	}
	cfg := strings.Replace(timeoutConfig, "routes:\n", "middleware:\n  answer: {type: test_reply}\nroutes:\n  - name: local\n    match: {path: /local}\n    cluster: up\n    middleware: [answer]\n", 1)
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.status, func(t *testing.T) {
			r := newRig(t, cfg)
			cl := r.client("203.0.113.9")
			cl.send(tc.method + " /local HTTP/1.1\r\nHost: a\r\nX-Status: " + tc.status + "\r\n\r\n")
			if len(r.lp.dials) > 0 {
				t.Fatal("a local reply reached for the upstream")
			}
			head, body := split(cl.c.takeOut())
			if got := statusLine(head); got != tc.wantStatus {
				t.Fatalf("status %q, want %q", got, tc.wantStatus)
			}
			length := ""
			for _, l := range strings.Split(head, "\r\n") {
				if v, ok := strings.CutPrefix(l, "Content-Length: "); ok {
					length = v
				}
			}
			json := `{"error":"internal error","request_id":"`
			switch {
			case tc.length == "json":
				if n, _ := strconv.Atoi(length); n <= len(json) {
					t.Errorf("Content-Length %q does not describe the JSON error", length)
				}
			case length != tc.length:
				t.Errorf("Content-Length %q, want %q", length, tc.length)
			}
			switch {
			case tc.body == "json":
				if !strings.HasPrefix(body, json) {
					t.Errorf("body %q, want the JSON internal error", body)
				}
			case body != tc.body:
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if tc.wantStatus[9] == '2' || tc.wantStatus[9] == '3' || tc.wantStatus[9] == '4' {
				if !strings.Contains(head, "\r\nX-Mine: 1") {
					t.Errorf("the filter's header is missing:\n%s", lines(head))
				}
			}
			if cl.s.closed || strings.Contains(head, "Connection: close") {
				t.Error("a local reply closed the connection")
			}
		})
	}
}
