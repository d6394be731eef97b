package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// captureUpstream is a raw TCP upstream: it reads each request with
// net/http while recording the exact bytes that arrived, and answers by
// path: /echo returns those bytes as the body, /204 a 204 with a
// Content-Length, /chunked a chunked body with extensions and trailers.
func captureUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				rec := &recorder{r: c}
				br := bufio.NewReader(rec)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if _, err := io.Copy(io.Discard, req.Body); err != nil {
						return
					}
					raw := rec.take() // the gateway sends one request at a time
					var resp string
					switch req.URL.Path {
					case "/echo":
						resp = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(raw), raw)
					case "/204":
						resp = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
					default:
						resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
							"5 ;a=b\r\nhello\r\n0\r\nContent-Length: 3\r\nX-Sum: 1\r\n\r\n"
					}
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// recorder keeps a copy of everything read through it.
type recorder struct {
	r   io.Reader
	mu  sync.Mutex
	got []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.mu.Lock()
	r.got = append(r.got, p[:n]...)
	r.mu.Unlock()
	return n, err
}

func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := string(r.got)
	r.got = nil
	return s
}

// readHead reads raw header lines up to the blank line.
func readHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read head (after %q): %v", b.String(), err)
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

// headerLines returns the values of the field name in a raw head, in order.
func headerLines(head, name string) []string {
	var vs []string
	for _, l := range strings.Split(head, "\r\n")[1:] {
		if n, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(n, name) {
			vs = append(vs, strings.TrimSpace(v))
		}
	}
	return vs
}

// TestForwardedTrafficIsNormalised runs the binary between a raw client and
// a byte-capturing upstream and checks what it writes in place of what it
// was sent: forged forwarding headers replaced, a chunked request body
// re-framed without extensions or trailers, a 204's Content-Length dropped,
// and a chunked response re-framed.
func TestForwardedTrafficIsNormalised(t *testing.T) {
	bin := buildSluice(t)
	up := captureUpstream(t)
	listen := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "sluice.yaml")
	yml := fmt.Sprintf("listen: %q\nadmin: \"\"\nclusters:\n  up:\n    targets:\n      - url: http://%s\nroutes:\n  - name: all\n    match:\n      path: /*\n    cluster: up\n", listen, up)
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startSluice(t, bin, cfg)
	var c net.Conn
	waitUntil(t, p, 20*time.Second, "the listener", func() bool {
		var err error
		c, err = net.Dial("tcp", listen)
		return err == nil
	})
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)

	// roundTrip sends raw and returns the response status and the bytes the
	// upstream received, split at the end of the head.
	roundTrip := func(raw string) (status int, head, body string) {
		fmt.Fprint(c, raw)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		head, body, _ = strings.Cut(string(got), "\r\n\r\n")
		return resp.StatusCode, head, body
	}

	// Every forwarding header forged.
	_, head, _ := roundTrip("GET /echo HTTP/1.1\r\nHost: api.example\r\n" +
		"X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n" +
		"X-Forwarded-Proto: https\r\nX-Forwarded-Host: bank.example\r\n\r\n")
	for name, want := range map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"Forwarded":         "for=127.0.0.1;proto=http;host=api.example",
		"X-Real-IP":         "127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  "api.example",
	} {
		if vs := headerLines(head, name); len(vs) != 1 || vs[0] != want {
			t.Errorf("upstream received %s %q, want [%q]", name, vs, want)
		}
	}

	// A chunked upload with a chunk extension, BWS and smuggling-shaped
	// trailers.
	status, _, body := roundTrip("POST /echo HTTP/1.1\r\nHost: api.example\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5 ;a=b\r\nhello\r\n0\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\nHost: evil.example\r\n\r\n")
	if status != 200 || body != "5\r\nhello\r\n0\r\n\r\n" {
		t.Fatalf("upstream received body %q (status %d), want our framing and no trailers", body, status)
	}

	// An upstream 204 with a Content-Length.
	fmt.Fprint(c, "GET /204 HTTP/1.1\r\nHost: api.example\r\n\r\n")
	if h := readHead(t, br); !strings.HasPrefix(h, "HTTP/1.1 204 ") || headerLines(h, "Content-Length") != nil {
		t.Errorf("204 head %q", h)
	}

	// A chunked response with an extension and trailers.
	fmt.Fprint(c, "GET /chunked HTTP/1.1\r\nHost: api.example\r\n\r\n")
	readHead(t, br)
	var got strings.Builder
	for !strings.HasSuffix(got.String(), "\r\n\r\n") {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("read body (after %q): %v", got.String(), err)
		}
		got.WriteByte(b)
	}
	if got.String() != "5\r\nhello\r\n0\r\n\r\n" {
		t.Errorf("client received body %q", got.String())
	}
}
