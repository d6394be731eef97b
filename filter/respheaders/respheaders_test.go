package respheaders

import (
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

func TestResponseHeadersConfigErrors(t *testing.T) {
	cases := []struct{ inst, want string }{
		{"{type: response_headers}", "h.yaml:2:3: middleware.h: nothing to do"},
		{"{type: response_headers, set: {'Bad Name': x}}", `"Bad Name": not a header name`},
		{"{type: response_headers, set: {X-A: \"a\\r\\nX-Evil: 1\"}}", `"X-A": value has a control character at byte 1`},
		{"{type: response_headers, add: {Transfer-Encoding: gzip}}", "hop-by-hop"},
		{"{type: response_headers, remove: [content-length]}", "written by the gateway itself"},
		{"{type: response_headers, set: {X-Request-ID: x}}", "written by the gateway itself"},
		{"{type: response_headers, set: {Server: a}, remove: [server]}", `"server" is also in set`},
		{"{type: response_headers, sett: {A: b}}", `unknown field "sett"`},
	}
	for _, tc := range cases {
		if _, err := buildText(t, tc.inst); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want …%s…", tc.inst, err, tc.want)
		}
	}
}

// TestResponseHeadersShape runs the response phase the way the engine does
// and checks what would be written, with no allocation per response.
func TestResponseHeadersShape(t *testing.T) {
	f, err := buildText(t, "{type: response_headers, set: {X-Frame-Options: DENY, X-B: two}, add: {Vary: Origin}, remove: [Server, X-Powered-By]}")
	if err != nil {
		t.Fatal(err)
	}
	c := filter.NewChain(f)
	upstream := []http1.Header{
		{Name: []byte("server"), Value: []byte("nginx")},
		{Name: []byte("X-Frame-Options"), Value: []byte("SAMEORIGIN")},
		{Name: []byte("Vary"), Value: []byte("Accept")},
	}
	var x filter.Exchange
	run := func() {
		x.Reset(nil)
		x.AddResponseHeader("X-Powered-By", []byte("an earlier filter"))
		c.ResponseHead(&x, 1, 200, upstream, false)
	}
	run()
	if got, want := string(x.ResponseHeaders()), "X-B: two\r\nX-Frame-Options: DENY\r\nVary: Origin\r\n"; got != want {
		t.Errorf("added lines %q, want %q", got, want)
	}
	for name, removed := range map[string]bool{"Server": true, "x-frame-options": true, "Vary": false, "X-B": true} {
		if x.ResponseRemoved([]byte(name)) != removed {
			t.Errorf("%s removed = %v, want %v", name, !removed, removed)
		}
	}
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocs per response, want 0", n)
	}
}
