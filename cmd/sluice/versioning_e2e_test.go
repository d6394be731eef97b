package main

// End-to-end test of API versioning through the real binary, on the very
// config the README's "API versioning" section shows: path versioning with
// strip_prefix, header versioning, Accept media-type versioning and the
// default version, each answered by the upstream that should serve it.

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// readmeVersioningConfig returns the README's API versioning yaml block.
func readmeVersioningConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range yamlBlocks(string(b)) {
		if strings.HasPrefix(blk.text, "# API versioning recipes") {
			return blk.text
		}
	}
	t.Fatal(`README.md has no yaml block starting "# API versioning recipes"`)
	return ""
}

func TestAPIVersioningThroughBinary(t *testing.T) {
	upstream := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.URL.Path)
		}))
		t.Cleanup(s.Close)
		return s
	}
	v1, v2 := upstream("v1"), upstream("v2")
	listen := freeAddr(t)
	cfg := readmeVersioningConfig(t)
	cfg = strings.NewReplacer("http://127.0.0.1:9101", v1.URL, "http://127.0.0.1:9102", v2.URL).Replace(cfg)
	cfg = "listen: \"" + listen + "\"\nadmin: \"\"\naccess_log: {enabled: false}\n" + cfg

	p := startSluice(t, buildSluice(t), writeFile(t, cfg))
	waitUntil(t, p, 20*time.Second, "the listener", func() bool {
		c, err := net.DialTimeout("tcp", listen, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	client := &http.Client{Timeout: 5 * time.Second}
	for _, c := range []struct {
		name, path string
		headers    map[string]string
		status     int
		want       string // the upstream's answer: its name and the path it saw
	}{
		{"path v1, prefix stripped", "/v1/orders/7", nil, 200, "v1 /orders/7"},
		{"path v2, prefix stripped", "/v2/orders/7", nil, 200, "v2 /orders/7"},
		{"path of an unknown version", "/v3/orders/7", nil, 404, ""},
		{"no version asked for: the default", "/api/orders/7", nil, 200, "v1 /api/orders/7"},
		{"header v2", "/api/orders/7", map[string]string{"X-API-Version": "2"}, 200, "v2 /api/orders/7"},
		{"header name in another case", "/api/orders/7", map[string]string{"x-api-version": "2"}, 200, "v2 /api/orders/7"},
		{"header of an unknown version: the default", "/api/orders/7", map[string]string{"X-API-Version": "3"}, 200, "v1 /api/orders/7"},
		{"Accept vendor media type v2", "/api/orders/7", map[string]string{"Accept": "application/vnd.example.v2+json"}, 200, "v2 /api/orders/7"},
		{"Accept version parameter", "/api/orders/7", map[string]string{"Accept": "application/json; version=2"}, 200, "v2 /api/orders/7"},
		{"Accept v20 is not v2: the default", "/api/orders/7", map[string]string{"Accept": "application/vnd.example.v20+json"}, 200, "v1 /api/orders/7"},
		{"Accept v2 refused with q=0: the default", "/api/orders/7", map[string]string{"Accept": "application/vnd.example.v2+json;q=0, application/json"}, 200, "v1 /api/orders/7"},
		{"Accept v2 preferred among several ranges", "/api/orders/7", map[string]string{"Accept": "text/html;q=0.8, application/vnd.example.v2+json;q=0.9, */*;q=0.1"}, 200, "v2 /api/orders/7"},
		{"malformed Accept: the default", "/api/orders/7", map[string]string{"Accept": "application/vnd.example.v2+json;q=high"}, 200, "v1 /api/orders/7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "http://"+listen+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.headers {
				req.Header[k] = []string{v} // as written: net/http would canonicalise Set's names
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("GET %s %v: status %d (%s); want %d", c.path, c.headers, resp.StatusCode, body, c.status)
			}
			if c.status == 200 && string(body) != c.want {
				t.Fatalf("GET %s %v: upstream said %q; want %q", c.path, c.headers, body, c.want)
			}
			if c.status == 404 && !strings.Contains(string(body), `"error"`) {
				t.Fatalf("GET %s: 404 body %q is not the JSON error", c.path, body)
			}
		})
	}
}
