package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the gateway's logger and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// statusOf GETs url with c and returns the status, 0 when the request
// failed; the body is drained so the connection is reused.
func statusOf(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls ok until it holds, failing the test with the gateway's log
// after 5 s.
func waitFor(t *testing.T, logs *syncBuffer, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSIGHUPReloadsAndKeepsServingOnError runs the gateway in-process on a
// config file, rewrites the file and sends SIGHUP: the new routes serve; a
// broken file is rejected with file:line:column and the previous config
// keeps serving; SIGTERM then stops it with exit code 0.
func TestSIGHUPReloadsAndKeepsServingOnError(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "up:"+r.URL.Path)
	}))
	defer up.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfgFor := func(prefix string) string {
		return fmt.Sprintf(`listen: %q
admin: ""
server: {loops: 1, drain_timeout: 2s}
clusters:
  up: {targets: [{url: %q}]}
routes:
  - {name: r, match: {path: %s/*}, cluster: up}
`, addr, up.URL, prefix)
	}
	file := writeFile(t, cfgFor("/a"))

	var logs syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"-config", file}, &logs) }()

	get := func(path string) int { return statusOf(http.DefaultClient, "http://"+addr+path) }
	waitFor(t, &logs, "first config", func() bool { return get("/a/x") == 200 })
	if st := get("/b/x"); st != 404 {
		t.Fatalf("/b/x before reload: %d, want 404", st)
	}

	if err := os.WriteFile(file, []byte(cfgFor("/b")), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, &logs, "reloaded routes", func() bool { return get("/b/x") == 200 && get("/a/x") == 404 })

	if err := os.WriteFile(file, []byte(strings.Replace(cfgFor("/c"), "cluster: up", "cluster: nope", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, &logs, "reload failure logged", func() bool { return strings.Contains(logs.String(), "reload failed") })
	if !strings.Contains(logs.String(), file+":7:") {
		t.Errorf("reload error lacks file:line:column:\n%s", logs.String())
	}
	if st := get("/b/x"); st != 200 {
		t.Fatalf("after a failed reload /b/x = %d; the previous config must keep serving", st)
	}

	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d after SIGTERM; log:\n%s", c, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("gateway did not stop on SIGTERM")
	}
}
