package proxy

import (
	"strings"
	"testing"
	"time"
)

// statusLine is the first line of what the client got, "" when nothing.
func statusLine(out string) string {
	line, _, _ := strings.Cut(out, "\r\n")
	return line
}

// warm serves one request to each target on fresh upstream connections,
// which go back to their pools: the next request on the rig takes one of
// them (lastReused).
func warm(t *testing.T, r *rig) []*memUp {
	t.Helper()
	var ups []*memUp
	for range 2 {
		cl := r.client("203.0.113.9")
		cl.send("GET /api/warm HTTP/1.1\r\nHost: gw.test\r\n\r\n")
		up := r.dial()
		up.reply("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		if got := statusLine(cl.c.takeOut()); got != "HTTP/1.1 200 OK" {
			t.Fatalf("warm-up: %q", got)
		}
		up.c.takeOut()
		ups = append(ups, up)
	}
	return ups
}

// TestRetryPolicy fails the first try in each way the exchange knows and
// checks what follows: another try (on which target, over which kind of
// connection) or the client's answer. The cluster retries connect failures
// and 502s, two attempts; a reused connection that dies before any byte is
// replayed once on a fresh one whatever the config says, for idempotent
// bodiless requests only.
func TestRetryPolicy(t *testing.T) {
	const get = "GET /api/r HTTP/1.1\r\nHost: gw.test\r\n\r\n"
	const post = "POST /api/r HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 0\r\n\r\n"
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	cases := []struct {
		name   string
		reused bool   // the first try goes over a pooled connection
		req    string // the client's request
		fail   func(r *rig, up *memUp)
		// want: the target of the second try ("" = none) and the
		// status line the client ends with.
		retryTo, status string
	}{
		{"fresh conn closed, GET: retried on the other target", false, get,
			func(_ *rig, up *memUp) { up.hangUp() }, "192.0.2.2:8080", "HTTP/1.1 200 OK"},
		{"fresh conn closed, POST: not replayable, 502", false, post,
			func(_ *rig, up *memUp) { up.hangUp() }, "", "HTTP/1.1 502 Bad Gateway"},
		{"reused conn closed, GET: replayed on a fresh conn to the same target", true, get,
			func(_ *rig, up *memUp) { up.hangUp() }, "192.0.2.1:8080", "HTTP/1.1 200 OK"},
		{"reused conn closed, POST: 502", true, post,
			func(_ *rig, up *memUp) { up.hangUp() }, "", "HTTP/1.1 502 Bad Gateway"},
		{"upstream 502, GET: retried", false, get,
			func(_ *rig, up *memUp) { up.reply("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n") },
			"192.0.2.2:8080", "HTTP/1.1 200 OK"},
		{"upstream 502, POST: relayed as it is", false, post,
			func(_ *rig, up *memUp) { up.reply("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n") },
			"", "HTTP/1.1 502 Bad Gateway"},
		{"upstream 503, GET: not a listed cause, relayed", false, get,
			func(_ *rig, up *memUp) { up.reply("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n") },
			"", "HTTP/1.1 503 Service Unavailable"},
		{"garbage after a byte, GET: retried (502 cause)", false, get,
			func(_ *rig, up *memUp) { up.reply("HTTQ/9 nonsense\r\n\r\n") }, "192.0.2.2:8080", "HTTP/1.1 200 OK"},
		{"timeout, GET: not a listed cause, 504", false, get,
			func(r *rig, _ *memUp) { r.advance(1100 * time.Millisecond) }, "", "HTTP/1.1 504 Gateway Timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigConfig)
			var pooled []*memUp
			if tc.reused {
				pooled = warm(t, r)
			}
			cl := r.client("203.0.113.9")
			cl.send(tc.req)
			var first *memUp
			for _, up := range pooled {
				if up.c.out.Len() > 0 {
					first = up
				}
			}
			switch {
			case tc.reused && (first == nil || len(r.lp.dials) > 0):
				t.Fatal("the request did not take a pooled connection")
			case !tc.reused:
				first = r.dial()
			}
			if first.addr != "192.0.2.1:8080" {
				t.Fatalf("first try to %s, want the first target", first.addr)
			}
			if !strings.HasPrefix(first.c.takeOut(), tc.req[:4]) {
				t.Fatal("the first try sent nothing")
			}
			tc.fail(r, first)
			if tc.retryTo == "" {
				if len(r.lp.dials) != 0 {
					t.Fatalf("a second try was dialed to %s", r.lp.dials[0].addr)
				}
			} else {
				second := r.dial()
				if second.addr != tc.retryTo {
					t.Errorf("second try to %s, want %s", second.addr, tc.retryTo)
				}
				if got := second.c.takeOut(); !strings.Contains(got, "\r\nHost: "+tc.retryTo+"\r\n") {
					t.Errorf("second try's head does not name its target:\n%s", lines(got))
				}
				second.reply(ok)
			}
			if got := statusLine(cl.c.takeOut()); got != tc.status {
				t.Errorf("client got %q, want %q", got, tc.status)
			}
			// A relayed answer leaves its connection clean for the pool;
			// every failure closes it.
			if relayed := strings.HasSuffix(tc.name, "relayed") || strings.HasSuffix(tc.name, "as it is"); first.s.closed == relayed {
				t.Errorf("first connection closed %v, want %v", first.s.closed, !relayed)
			}
		})
	}
}
