package filter

import (
	"testing"

	"github.com/sluicehq/sluice/http1"
)

// TestUpstreamPathAndQueryEdits: what filters see and what the engine
// forwards, through strip_prefix, a rewrite built from the previous one,
// and a new request on the same exchange.
func TestUpstreamPathAndQueryEdits(t *testing.T) {
	var x Exchange
	var req http1.Request
	req.Query = []byte("a=1")
	for range 3 { // the same exchange, request after request
		x.Reset(nil)
		x.Req, x.Path = &req, []byte("/api/v1/x")
		x.SetStripPrefix([]byte("/api"))
		if got := string(x.UpstreamPath()); got != "/v1/x" {
			t.Fatalf("UpstreamPath before any edit %q, want strip_prefix's /v1/x", got)
		}
		if got := string(x.ForwardQuery(req.Query)); got != "a=1" {
			t.Fatalf("ForwardQuery before any edit %q", got)
		}
		// Each edit builds on the last, in the spare buffer.
		x.SetUpstreamPath(append(append(x.PathBuffer(), "/internal"...), x.UpstreamPath()...))
		x.SetUpstreamPath(append(append(x.PathBuffer(), x.UpstreamPath()...), "/y"...))
		if got, fw := string(x.UpstreamPath()), string(x.ForwardPath(x.Path, []byte("/api"))); got != "/internal/v1/x/y" || fw != got {
			t.Errorf("after two edits: UpstreamPath %q, ForwardPath %q; want /internal/v1/x/y", got, fw)
		}
		x.SetUpstreamQuery(append(append(x.QueryBuffer(), x.UpstreamQuery()...), "&b=2"...))
		if got := string(x.ForwardQuery(req.Query)); got != "a=1&b=2" {
			t.Errorf("ForwardQuery %q", got)
		}
		x.SetUpstreamQuery(x.QueryBuffer())
		if got := x.ForwardQuery(req.Query); got != nil {
			t.Errorf("an emptied query forwards %q, want none", got)
		}
	}
	x.Reset(nil)
	if got := string(x.ForwardPath([]byte("/api"), []byte("/api"))); got != "/" {
		t.Errorf("strip_prefix of the whole path: %q, want /", got)
	}
	if x.UpstreamHost() != nil {
		t.Error("Reset keeps the Host")
	}
}

// TestSetUpstreamPathCopiesForeignBytes: a path not built in PathBuffer
// (a config slice) is copied, so the exchange never appends into it.
func TestSetUpstreamPathCopiesForeignBytes(t *testing.T) {
	var x Exchange
	x.Reset(nil)
	cfg := []byte("/config/path")
	x.SetUpstreamPath(cfg[:7])
	x.SetUpstreamPath(append(x.PathBuffer(), "/other-path"...))
	x.SetUpstreamPath(append(x.PathBuffer(), "/third"...))
	if string(cfg) != "/config/path" {
		t.Errorf("the caller's bytes changed: %q", cfg)
	}
}

func TestUpstreamHeaderEdits(t *testing.T) {
	var x Exchange
	run := func() {
		x.Reset(nil)
		x.AddUpstreamHeader("X-User-Email", []byte("a@example.com")) // an earlier filter's
		x.AddUpstreamHeader("X-Keep", []byte("1"))
		x.RemoveUpstreamHeader("x-user-email")
		x.AppendUpstreamHeader("X-Ok", func(b []byte) ([]byte, bool) { return append(b, "fine\tvalue"...), true })
		x.AppendUpstreamHeader("X-Missing", func(b []byte) ([]byte, bool) { return append(b, "partial"...), false })
		x.AppendUpstreamHeader("X-Evil", func(b []byte) ([]byte, bool) { return append(b, "a\r\nX-Admin: 1"...), true })
		x.AppendUpstreamHeader("X-Nul", func(b []byte) ([]byte, bool) { return append(b, "a\x00b"...), true })
	}
	run()
	if got, want := string(x.UpstreamHeaders()), "X-Keep: 1\r\nX-Ok: fine\tvalue\r\n"; got != want {
		t.Errorf("upstream lines %q, want %q", got, want)
	}
	if !x.Stripped([]byte("X-User-Email")) {
		t.Error("RemoveUpstreamHeader left the client's copy")
	}
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocs, want 0", n)
	}
}
