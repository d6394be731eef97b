package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// bodyFilter is a body-phase filter for the rig: it asks for the body (up
// to 64 bytes) and records what it saw; a body starting "bad" is refused
// with 400 and the body as detail; "park" parks the request (once) and
// leaves its resume in parked.
type bodyFilter struct{}

var (
	seenBodies []string
	parked     func()
)

func (bodyFilter) Request(x *filter.Exchange) filter.Verdict {
	x.BufferBody(64)
	return filter.Continue
}

func (bodyFilter) RequestBody(x *filter.Exchange, body []byte) filter.Verdict {
	seenBodies = append(seenBodies, string(body))
	switch st := x.State(); {
	case strings.HasPrefix(string(body), "bad"):
		return x.RejectDetail(400, "bad body", body)
	case strings.HasPrefix(string(body), "park") && st.N == 0:
		st.N = 1
		parked = x.Park(time.Second, "body check timed out")
		return filter.Pause
	}
	return filter.Continue
}

func init() {
	filter.Register(filter.Type{Name: "test_body", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) { return bodyFilter{}, nil }})
}

var bodyConfig = strings.Replace(timeoutConfig, "routes:\n",
	"middleware:\n  body: {type: test_body}\nroutes:\n  - name: body\n    match: {path: /b/*}\n    cluster: up\n    middleware: [body]\n", 1)

// runQueued runs what was handed to the loop with Execute (a resume).
func (r *rig) runQueued() {
	r.lp.mu.Lock()
	q := r.lp.queue
	r.lp.queue = nil
	r.lp.mu.Unlock()
	for _, fn := range q {
		fn()
	}
}

// TestBodyPhase drives the body phase byte by byte: nothing is dialed until
// the body is whole; the filter sees the content de-chunked while the
// upstream gets the body as every body is framed; a refusal after the body
// was read keeps the connection for the pipelined request behind it; what
// cannot be buffered is refused before anything is dialed.
func TestBodyPhase(t *testing.T) {
	const head = "POST /b/x HTTP/1.1\r\nHost: a\r\n"
	cases := []struct {
		name   string
		pieces []string // sent one by one
		seen   string   // what the filter saw; "-" for not called
		status string   // the client's status line; "" for forwarded
		upBody string   // what the upstream got after the head
		closes bool
		next   bool // a pipelined GET follows and is served
	}{
		{name: "length, in pieces", pieces: []string{head + "Content-Length: 5\r\n\r\nhe", "l", "lo"},
			seen: "hello", upBody: "hello"},
		{name: "chunked with extension and trailer, byte by byte",
			pieces: strings.Split(head+"Transfer-Encoding: chunked\r\n\r\n2;x=y\r\nhe\r\n3\r\nllo\r\n0\r\nT: v\r\n\r\n", ""),
			seen:   "hello", upBody: "2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"},
		{name: "refused after the body: connection kept", pieces: []string{head + "Content-Length: 3\r\n\r\nbadGET /api/n HTTP/1.1\r\nHost: a\r\n\r\n"},
			seen: "bad", status: "HTTP/1.1 400 Bad Request", next: true},
		{name: "length past the filter's limit: 413 before reading", pieces: []string{head + "Content-Length: 65\r\n\r\n"},
			seen: "-", status: "HTTP/1.1 413 Content Too Large", closes: true},
		{name: "chunk size past the limit: 413 before its data", pieces: []string{head + "Transfer-Encoding: chunked\r\n\r\n41\r\n"},
			seen: "-", status: "HTTP/1.1 413 Content Too Large", closes: true},
		{name: "many small chunks past the limit", pieces: []string{head + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1\r\nx\r\n", 65)},
			seen: "-", status: "HTTP/1.1 413 Content Too Large", closes: true},
		{name: "bad chunk: 400, nothing forwarded", pieces: []string{head + "Transfer-Encoding: chunked\r\n\r\n2\r\nhe\r\nzz\r\n"},
			seen: "-", status: "HTTP/1.1 400 Bad Request", closes: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seenBodies = nil
			r := newRig(t, bodyConfig)
			cl := r.client("203.0.113.9")
			for i, p := range tc.pieces {
				if len(r.lp.dials) > 0 {
					t.Fatalf("dialed after %d of %d pieces, before the body was whole", i, len(tc.pieces))
				}
				cl.send(p)
			}
			if got := strings.Join(seenBodies, "|"); (tc.seen == "-" && got != "") || (tc.seen != "-" && got != tc.seen) {
				t.Errorf("the filter saw %q, want %q", got, tc.seen)
			}
			if tc.status == "" {
				up := r.dial()
				if !strings.HasSuffix(up.c.out.String(), "\r\n\r\n"+tc.upBody) {
					t.Errorf("upstream got:\n%s\nwant the body %q after the head", lines(up.c.out.String()), tc.upBody)
				}
				return
			}
			out := cl.c.takeOut()
			if !strings.HasPrefix(out, tc.status+"\r\n") || strings.Contains(out, "Connection: close") != tc.closes {
				t.Fatalf("client got:\n%s\nwant %s, close %v", lines(out), tc.status, tc.closes)
			}
			if tc.next {
				r.dial().reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				if out := cl.c.takeOut(); !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") {
					t.Errorf("the pipelined request got:\n%s", lines(out))
				}
			} else if len(r.lp.dials) > 0 {
				t.Error("a refused request was dialed")
			}
		})
	}
}

// TestBodyPhasePause: a body filter that parks holds the request, head and
// body buffered, until its resume runs on the loop; then the phase runs
// again from it and the request goes upstream. A resume arriving after the
// client left does nothing; one never arriving times out with the filter's
// 503.
func TestBodyPhasePause(t *testing.T) {
	const req = "POST /b/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\npark"
	t.Run("resumed", func(t *testing.T) {
		seenBodies, parked = nil, nil
		r := newRig(t, bodyConfig)
		cl := r.client("203.0.113.9")
		cl.send(req)
		if parked == nil || len(r.lp.dials) > 0 {
			t.Fatalf("parked %v, dials %d", parked != nil, len(r.lp.dials))
		}
		parked()
		r.runQueued()
		if got := strings.Join(seenBodies, "|"); got != "park|park" {
			t.Errorf("the filter saw %q, want the body twice (before and after the pause)", got)
		}
		up := r.dial()
		if !strings.HasSuffix(up.c.out.String(), "\r\n\r\npark") {
			t.Errorf("upstream got:\n%s", lines(up.c.out.String()))
		}
	})
	t.Run("client left", func(t *testing.T) {
		seenBodies, parked = nil, nil
		r := newRig(t, bodyConfig)
		cl := r.client("203.0.113.9")
		cl.send(req)
		cl.s.closed = true
		cl.h.Closed()
		cl.h.Teardown()
		parked()
		r.runQueued()
		if len(seenBodies) != 1 || len(r.lp.dials) > 0 || cl.c.takeOut() != "" {
			t.Errorf("after the client left: filter ran %d times, %d dials", len(seenBodies), len(r.lp.dials))
		}
	})
	t.Run("timed out", func(t *testing.T) {
		seenBodies, parked = nil, nil
		r := newRig(t, bodyConfig)
		cl := r.client("203.0.113.9")
		cl.send(req)
		r.advance(2 * time.Second)
		if out := cl.c.takeOut(); !strings.HasPrefix(out, "HTTP/1.1 503 ") || !strings.Contains(out, `"error":"body check timed out"`) {
			t.Errorf("client got:\n%s", lines(out))
		}
		parked()
		r.runQueued()
		if len(r.lp.dials) > 0 {
			t.Error("dialed after the timeout")
		}
	})
}
