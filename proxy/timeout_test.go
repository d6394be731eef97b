package proxy

import (
	"strings"
	"testing"
	"time"
)

// TestTimeouts moves the clock (Proxy.Tick, then the sweep, as the
// transport's tick does) and checks that each deadline fires at its time,
// not a tick early, with its answer: response timeout 1s, client_header
// 2s, client_idle 5s, client_body 3s, the dial watchdog at connect + 1s.
func TestTimeouts(t *testing.T) {
	cases := []struct {
		name   string
		start  func(r *rig, cl *memClient) // the exchange up to the wait
		before time.Duration               // nothing may happen by then
		after  time.Duration               // by then (from the start) it has
		status string                      // the client's answer ("" = none: cut off)
		closes bool                        // the client connection is closed or closing
	}{
		{"upstream silent after the request: 504", func(r *rig, cl *memClient) {
			cl.send("GET /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n")
			r.dial()
		}, 950 * time.Millisecond, 1050 * time.Millisecond, "HTTP/1.1 504 Gateway Timeout", false},
		{"interim heads do not move the response deadline", func(r *rig, cl *memClient) {
			cl.send("GET /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n")
			up := r.dial()
			r.advance(600 * time.Millisecond)
			up.reply("HTTP/1.1 100 Continue\r\n\r\n")
			cl.c.takeOut()
		}, 350 * time.Millisecond, 450 * time.Millisecond, "HTTP/1.1 504 Gateway Timeout", false},
		{"body stalls after the head: the client is cut off", func(r *rig, cl *memClient) {
			cl.send("GET /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n")
			up := r.dial()
			up.reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
			cl.c.takeOut()
		}, 950 * time.Millisecond, 1050 * time.Millisecond, "", true},
		{"half a head: 408 and close", func(r *rig, cl *memClient) {
			cl.send("GET /api/a HTTP/1.1\r\nHost: gw")
		}, 1950 * time.Millisecond, 2050 * time.Millisecond, "HTTP/1.1 408 Request Timeout", true},
		{"idle keep-alive connection: closed without a word", func(*rig, *memClient) {},
			4950 * time.Millisecond, 5050 * time.Millisecond, "", true},
		{"buffered body stalls: 408 and close", func(r *rig, cl *memClient) {
			cl.send("POST /api/a HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10\r\n\r\nab")
		}, 2950 * time.Millisecond, 3050 * time.Millisecond, "HTTP/1.1 408 Request Timeout", true},
		{"dial never answered: 502 at connect + 1s", func(r *rig, cl *memClient) {
			cl.send("GET /api/a HTTP/1.1\r\nHost: gw.test\r\n\r\n")
		}, 1450 * time.Millisecond, 1550 * time.Millisecond, "HTTP/1.1 502 Bad Gateway", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, timeoutConfig)
			cl := r.client("203.0.113.9")
			tc.start(r, cl)
			r.advance(tc.before)
			if out := cl.c.takeOut(); out != "" || cl.s.closed || cl.s.shut {
				t.Fatalf("at %v: wrote %q, closed %v: too early", tc.before, statusLine(out), cl.s.closed)
			}
			r.advance(tc.after - tc.before)
			out := cl.c.takeOut()
			if got := statusLine(out); got != tc.status {
				t.Errorf("at %v: client got %q, want %q", tc.after, got, tc.status)
			}
			if tc.status != "" && !strings.Contains(out, `{"error":`) {
				t.Errorf("no JSON error body: %q", out)
			}
			if closing := cl.s.closed || strings.Contains(out, "Connection: close"); closing != tc.closes {
				t.Errorf("closing %v, want %v", closing, tc.closes)
			}
		})
	}
}

// timeoutConfig is rigConfig with one target and no retries, so each
// timeout is answered, not retried.
var timeoutConfig = strings.NewReplacer(
	"      - url: http://192.0.2.2:8080\n", "",
	"retries: {attempts: 2, on: [connect_failure, 502]}", "retries: {attempts: 1}",
	"timeouts: {client_header: 2s, client_idle: 5s}", "timeouts: {client_header: 2s, client_idle: 5s, client_body: 3s}",
).Replace(rigConfig)
