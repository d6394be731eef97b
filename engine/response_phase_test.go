package engine

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// respFilter has a response phase: it marks the order it ran in
// (X-Order), sets X-Frame-Options, removes X-Upstream (an upstream's
// header), X-Tag-Back (a request-phase filter's) and X-Local (a Reply's),
// and replaces an upstream response carrying X-Replace with its own reply.
type respFilter struct {
	name     string
	replaced []byte
}

func (f *respFilter) Request(*filter.Exchange) filter.Verdict { return filter.Continue }

func (f *respFilter) ResponseHead(x *filter.Exchange, r *filter.Response) filter.Verdict {
	if !r.Local && r.Header("X-Replace") != nil {
		return x.Reply(203, f.replaced, []byte("replaced\n"))
	}
	r.Add("X-Order", []byte(f.name))
	r.Set("X-Frame-Options", []byte("DENY"))
	r.Remove("X-Upstream")
	r.Remove("X-Tag-Back")
	r.Remove("X-Local")
	if r.Local {
		r.Set("X-Was-Local", []byte("yes"))
	}
	return filter.Continue
}

func init() {
	filter.Register(filter.Type{Name: "test_resp", Decode: func(*config.Middleware) error { return nil },
		Build: func(m *config.Middleware) (filter.Filter, error) {
			return &respFilter{name: m.Name, replaced: filter.AppendHeader(nil, "Content-Type", []byte("text/plain"))}, nil
		}})
}

const respConfig = `
middleware:
  tag: {type: test_tag}
  deny: {type: test_deny}
  reply: {type: test_reply}
  a: {type: test_resp}
  b: {type: test_resp}
`

const respRoutes = `  - name: shaped
    match: {path: /s/*}
    cluster: up
    middleware: [tag, a, b, deny, reply]
`

// replaceableHandler echoes, and marks its response X-Replace when asked.
func replaceableHandler() http.Handler {
	h := echoHandler("a")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Want-Replace") != "" {
			w.Header().Set("X-Replace", "1")
		}
		h.ServeHTTP(w, r)
	})
}

// TestResponsePhaseShapesEveryAnswer runs ResponseHead in reverse route
// order on a proxied response, on a later filter's Reply and on its
// Reject, and lets a filter replace an upstream response: the filters
// before it then see the local answer, and the client connection stays.
func TestResponsePhaseShapesEveryAnswer(t *testing.T) {
	up := startUpstream(t, replaceableHandler())
	g := startGateway(t, oneCluster(up.addr, respConfig, respRoutes), 1)
	c := dialRaw(t, g.addr)

	check := func(what string, resp *http.Response, order string, local bool) {
		t.Helper()
		h := resp.Header
		if got := strings.Join(h.Values("X-Order"), ","); got != order {
			t.Errorf("%s: X-Order %q, want %q (reverse route order)", what, got, order)
		}
		if h.Get("X-Frame-Options") != "DENY" || len(h.Values("X-Frame-Options")) != 1 {
			t.Errorf("%s: X-Frame-Options %q", what, h.Values("X-Frame-Options"))
		}
		for _, gone := range []string{"X-Upstream", "X-Tag-Back", "X-Local"} {
			if v, ok := h[gone]; ok {
				t.Errorf("%s: %s not removed: %q", what, gone, v)
			}
		}
		if (h.Get("X-Was-Local") == "yes") != local {
			t.Errorf("%s: X-Was-Local %q, local %v", what, h.Get("X-Was-Local"), local)
		}
		if h.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID", what)
		}
	}

	c.send("GET /s/x HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := c.readResponse("GET")
	if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/s/x"`) {
		t.Fatalf("proxied: %d %q", resp.StatusCode, body)
	}
	check("proxied", resp, "b,a", false)

	c.send("GET /s/x HTTP/1.1\r\nHost: a\r\nX-Reply: 200\r\n\r\n")
	resp, body = c.readResponse("GET")
	if resp.StatusCode != 200 || body != "local body\n" {
		t.Fatalf("reply: %d %q", resp.StatusCode, body)
	}
	check("reply", resp, "b,a", true)

	c.send("GET /s/x HTTP/1.1\r\nHost: a\r\nX-Deny: 1\r\n\r\n")
	resp, body = c.readResponse("GET")
	if resp.StatusCode != 403 || !strings.Contains(body, `"error":"Forbidden"`) || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("reject: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	check("reject", resp, "b,a", true)

	c.send("GET /s/x HTTP/1.1\r\nHost: a\r\nX-Want-Replace: 1\r\n\r\n")
	resp, body = c.readResponse("GET")
	if resp.StatusCode != 203 || body != "replaced\n" || resp.Header.Get("Content-Type") != "text/plain" || resp.Close {
		t.Fatalf("replaced: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	check("replaced", resp, "a", true) // b replaced it; only a, before b, sees the answer

	// The connection carries on, and the upstream's unread response did
	// not leak into it.
	c.send("GET /s/y HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.readResponse("GET"); resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/s/y"`) {
		t.Fatalf("after replacing: %d %q", resp.StatusCode, body)
	}
}

// TestResponsePhaseOnGatewayError runs it on the gateway's own failure
// (no upstream listening: 502) for a route whose filters all continued.
func TestResponsePhaseOnGatewayError(t *testing.T) {
	g := startGateway(t, oneCluster(freeAddr(t), respConfig, respRoutes), 1)
	c := dialRaw(t, g.addr)
	c.send("GET /s/x HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, _ := c.readResponse("GET")
	if resp.StatusCode != 502 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Was-Local") != "yes" {
		t.Fatalf("headers %v", resp.Header)
	}
}
