package engine

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The validate type end to end: Go's net/http client, the real gateway and a
// net/http upstream that records what reached it. A body that passes goes
// upstream as the client sent it; one that fails never reaches the upstream.

const orderSchemaE2E = `{
  "type": "object",
  "required": ["id", "items"],
  "properties": {
    "id": {"type": "string"},
    "items": {"type": "array", "minItems": 1,
              "items": {"type": "object", "required": ["qty"], "properties": {"qty": {"type": "integer", "minimum": 1}}}}
  }
}`

// received is what the recording upstream saw of one request.
type received struct {
	body         []byte
	te           []string
	cl           int64
	expect, ctyp string
}

// recorder is an upstream that keeps every request it answered.
type recorder struct {
	mu  sync.Mutex
	got []received
	n   atomic.Int64
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(500)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, received{b, req.TransferEncoding, req.ContentLength, req.Header.Get("Expect"), req.Header.Get("Content-Type")})
	r.mu.Unlock()
	r.n.Add(1)
	_, _ = w.Write([]byte("stored\n"))
}

func (r *recorder) last() received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

// startValidateGateway runs a gateway whose /orders route validates with a
// schema file and max_body 1KiB, and whose /bulk route takes documents
// large enough to be checked off the loop, in front of a recording
// upstream.
func startValidateGateway(t *testing.T) (*gateway, *recorder) {
	t.Helper()
	schema := filepath.Join(t.TempDir(), "order.json")
	if err := os.WriteFile(schema, []byte(orderSchemaE2E), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	up := startUpstream(t, rec)
	mw := fmt.Sprintf(`middleware:
  orders_in: {type: validate, required_headers: [X-Tenant], content_types: [application/json], max_body: 1KiB, json_schema: %q}
  bulk_in: {type: validate, max_body: 256KiB, json_schema: %[1]q}
`, schema)
	routes := "  - name: orders\n    match: {path: /orders}\n    cluster: up\n    middleware: [orders_in]\n" +
		"  - name: bulk\n    match: {path: /bulk}\n    cluster: up\n    middleware: [bulk_in]\n"
	return startGateway(t, oneCluster(up.addr, mw, routes), 1), rec
}

// post sends body to the gateway with Go's client; chunked sends it without
// a length, so the client frames it chunked.
func post(t *testing.T, c *http.Client, url, ctype string, body []byte, chunked bool, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: net/http sends Transfer-Encoding: chunked
	}
	req, err := http.NewRequest("POST", url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("X-Tenant", "t1")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// errorOf is the "error" of a gateway JSON error body, "" if it is not one.
func errorOf(body string) string {
	rest, ok := strings.CutPrefix(body, `{"error":"`)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(rest, `","request_id":"`)
	return msg
}

func TestValidateEndToEnd(t *testing.T) {
	g, rec := startValidateGateway(t)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	t.Cleanup(c.CloseIdleConnections)
	url := g.url("/orders")
	valid := []byte(`{"id":"o-1","items":[{"qty":2},{"qty":1}], "note":"caf\u00e9 \u00e9t\u00e9"}` + "\n")
	bad := []byte(`{"id":"o-1","items":[{"qty":2},{"qty":0}]}`)
	big := []byte(`{"id":"o-1","items":[{"qty":1}],"pad":"` + strings.Repeat("x", 1100) + `"}`)

	cases := []struct {
		name    string
		ctype   string
		body    []byte
		chunked bool
		hdr     map[string]string
		status  int
		err     string // the JSON error; "" for a proxied 200
	}{
		{"valid, Content-Length", "application/json", valid, false, nil, 200, ""},
		{"valid, chunked", "application/json; charset=utf-8", valid, true, nil, 200, ""},
		{"valid, 100-continue", "application/json", valid, false, map[string]string{"Expect": "100-continue"}, 200, ""},
		{"schema failure", "application/json", bad, false, nil, 400, "body does not match schema: /items/1/qty: minimum: got 0, want 1"},
		{"schema failure, chunked", "application/json", bad, true, nil, 400, "body does not match schema: /items/1/qty: minimum: got 0, want 1"},
		{"not JSON", "application/json", []byte(`{"id":`), false, nil, 400, "body is not JSON: unexpected end of input at byte 6"},
		{"empty chunked body", "application/json", nil, true, nil, 400, "body is not JSON: unexpected end of input at byte 0"},
		{"too large, Content-Length", "application/json", big, false, nil, 413, "request body too large"},
		{"too large, chunked", "application/json", big, true, nil, 413, "request body too large"},
		{"unsupported media type", "text/plain", valid, false, nil, 415, "unsupported media type: text/plain"},
		{"missing header", "application/json", valid, false, map[string]string{"X-Tenant": ""}, 400, "missing required header X-Tenant"},
	}
	for _, tc := range cases {
		before := rec.n.Load()
		resp, got := post(t, c, url, tc.ctype, tc.body, tc.chunked, tc.hdr)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d %q, want %d", tc.name, resp.StatusCode, got, tc.status)
			continue
		}
		if tc.err != "" {
			if errorOf(got) != tc.err || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(got, resp.Header.Get("X-Request-ID")) {
				t.Errorf("%s: body %q (Content-Type %q), want error %q with the request ID", tc.name, got, resp.Header.Get("Content-Type"), tc.err)
			}
			if rec.n.Load() != before {
				t.Errorf("%s: the upstream was called", tc.name)
			}
			continue
		}
		if got != "stored\n" || rec.n.Load() != before+1 {
			t.Errorf("%s: got %q, upstream calls %d", tc.name, got, rec.n.Load()-before)
			continue
		}
		r := rec.last()
		if !bytes.Equal(r.body, tc.body) {
			t.Errorf("%s: the upstream got %q, want %q", tc.name, r.body, tc.body)
		}
		if chunked := len(r.te) == 1 && r.te[0] == "chunked"; chunked != tc.chunked || (!tc.chunked && r.cl != int64(len(tc.body))) {
			t.Errorf("%s: framing upstream te=%v cl=%d", tc.name, r.te, r.cl)
		}
		if r.expect != "" || r.ctyp != tc.ctype {
			t.Errorf("%s: upstream Expect %q Content-Type %q", tc.name, r.expect, r.ctyp)
		}
	}

	// A body-less request is not checked for its media type or schema
	// (required headers still apply).
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Tenant", "t1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET without a body: %d", resp.StatusCode)
	}
}

// TestValidateConnectionAfterRefusal: a body refused after it was read
// whole leaves the connection usable; a request refused on its head while
// its body was not read (Content-Length past max_body, or a 415 for a client
// waiting on "Expect: 100-continue") is answered without a 100 and the
// connection closes, as RFC 9110 §10.1.1 allows: the body the client may
// still send is not read as a next request.
func TestValidateConnectionAfterRefusal(t *testing.T) {
	g, rec := startValidateGateway(t)
	const head = "POST /orders HTTP/1.1\r\nHost: gw\r\nX-Tenant: t\r\nContent-Type: application/json\r\n"
	bad := `{"id":"o-1","items":[]}`
	good := `{"id":"o-2","items":[{"qty":3}]}`

	t.Run("schema failure keeps the connection", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		c.send(fmt.Sprintf("%sContent-Length: %d\r\n\r\n%s", head, len(bad), bad))
		resp, body := c.readResponse("POST")
		if resp.StatusCode != 400 || resp.Close || errorOf(body) != "body does not match schema: /items: minItems: got 0, want 1" {
			t.Fatalf("got %d close=%v %q", resp.StatusCode, resp.Close, body)
		}
		c.send(fmt.Sprintf("%sTransfer-Encoding: chunked\r\n\r\n5\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", head, good[:5], len(good)-5, good[5:]))
		resp, body = c.readResponse("POST")
		if resp.StatusCode != 200 || body != "stored\n" || string(rec.last().body) != good {
			t.Fatalf("next request: %d %q, upstream got %q", resp.StatusCode, body, rec.last().body)
		}
	})
	t.Run("100-continue is answered by the gateway before the body is checked", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		before := rec.n.Load()
		c.send(fmt.Sprintf("%sContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", head, len(good)))
		resp, _ := c.readResponse("POST")
		if resp.StatusCode != 100 || rec.n.Load() != before {
			t.Fatalf("status %d, upstream calls %d: want the gateway's 100 and no upstream call yet", resp.StatusCode, rec.n.Load()-before)
		}
		c.send(good)
		resp, body := c.readResponse("POST")
		if resp.StatusCode != 200 || body != "stored\n" || rec.last().expect != "" {
			t.Fatalf("got %d %q, upstream Expect %q", resp.StatusCode, body, rec.last().expect)
		}
	})
	for _, tc := range []struct{ name, head string }{
		{"head refused with 100-continue: no 100, close", strings.Replace(head, "application/json", "text/xml", 1) + "Content-Length: 10\r\nExpect: 100-continue\r\n\r\n"},
		{"Content-Length past max_body: 413 before the body, close", head + "Content-Length: 5000\r\nExpect: 100-continue\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			before := rec.n.Load()
			c.send(tc.head)
			resp, body := c.readResponse("POST")
			if resp.StatusCode < 400 || !resp.Close || errorOf(body) == "" {
				t.Fatalf("got %d close=%v %q, want a JSON 4xx with Connection: close", resp.StatusCode, resp.Close, body)
			}
			c.expectEOF()
			if rec.n.Load() != before {
				t.Fatal("the upstream was called")
			}
		})
	}
	t.Run("bad chunk framing is refused, never half forwarded", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		before := rec.n.Load()
		c.send(head + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\nzz\r\n")
		resp, body := c.readResponse("POST")
		if resp.StatusCode != 400 || errorOf(body) != "bad chunked request body" || rec.n.Load() != before {
			t.Fatalf("got %d %q, upstream calls %d", resp.StatusCode, body, rec.n.Load()-before)
		}
	})
	t.Run("chunk sizes past max_body: 413 before the data arrives", func(t *testing.T) {
		c := dialRaw(t, g.addr)
		c.send(head + "Transfer-Encoding: chunked\r\n\r\n10\r\n{\"id\":\"o-1\",\"a\":\r\n800\r\n")
		resp, body := c.readResponse("POST")
		if resp.StatusCode != 413 || !resp.Close || errorOf(body) != "request body too large" {
			t.Fatalf("got %d close=%v %q", resp.StatusCode, resp.Close, body)
		}
	})
}

// TestValidateLargeBodiesOffLoop: documents too large to check on the loop
// are checked on goroutines while their requests wait parked; many at once,
// valid and invalid, chunked and not, each gets its own answer, and the
// valid ones reach the upstream byte for byte.
func TestValidateLargeBodiesOffLoop(t *testing.T) {
	g, rec := startValidateGateway(t)
	c := &http.Client{Timeout: 30 * time.Second} // generous: 16 documents checked at once under -race on a shared machine
	t.Cleanup(c.CloseIdleConnections)
	doc := func(i, qty int) []byte {
		return []byte(fmt.Sprintf(`{"id":"bulk-%d","items":[%s{"qty":%d}]}`, i, strings.Repeat(`{"qty":7,"sku":"0123456789abcdef"},`, 2000), qty))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qty := 1 - i%2 // odd i: qty 0, refused
			body := doc(i, qty)
			var r io.Reader = bytes.NewReader(body)
			if i%4 >= 2 {
				r = io.MultiReader(r) // chunked
			}
			resp, err := c.Post(g.url("/bulk"), "application/json", r)
			if err != nil {
				errs <- err.Error()
				return
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case qty == 1 && (resp.StatusCode != 200 || string(got) != "stored\n"):
				errs <- fmt.Sprintf("%d: valid: %d %q", i, resp.StatusCode, got)
			case qty == 0 && (resp.StatusCode != 400 || errorOf(string(got)) != "body does not match schema: /items/2000/qty: minimum: got 0, want 1"):
				errs <- fmt.Sprintf("%d: invalid: %d %q", i, resp.StatusCode, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.got) != 8 {
		t.Fatalf("the upstream got %d requests, want the 8 valid ones", len(rec.got))
	}
	for _, r := range rec.got {
		var i int
		if _, err := fmt.Sscanf(string(r.body), `{"id":"bulk-%d"`, &i); err != nil || !bytes.Equal(r.body, doc(i, 1)) {
			t.Errorf("the upstream got a body of %d bytes that is not document %d", len(r.body), i)
		}
	}
}
