package proxy

import (
	"testing"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/router"
)

// TestStatusOf: the one mapping gives the named errors their own status
// and message, and the parser's and router's errors what the client got
// before the table existed (their status, their text without the package
// prefix), without allocating.
func TestStatusOf(t *testing.T) {
	cases := []struct {
		err    error
		status int
		msg    string
	}{
		{errNoRoute, 404, "no route"},
		{errUpstreamTimeout, 504, "upstream timeout"},
		{errDraining, 503, "draining: shutting down"},
		{http1.ErrHeaderTooLarge, 431, "header section too large"},
		{http1.ErrBadVersion, 505, "unsupported HTTP version"},
		{http1.ErrBadChunk, 400, "malformed chunked body"},
		{router.ErrPathEscapes, 400, "path escapes the root"},
		{router.ErrBadEncoding, 400, "bad request path: malformed percent-encoding"},
	}
	for _, tc := range cases {
		if got := statusOf(tc.err); got != tc.status {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.status)
		}
		if got := messageOf(tc.err); got != tc.msg {
			t.Errorf("messageOf(%v) = %q, want %q", tc.err, got, tc.msg)
		}
		if n := testing.AllocsPerRun(10, func() { _, _ = statusOf(tc.err), messageOf(tc.err) }); n != 0 {
			t.Errorf("%v: %v allocations", tc.err, n)
		}
	}
}
