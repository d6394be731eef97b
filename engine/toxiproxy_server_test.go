package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Shopify's toxiproxy runs as its own process, the released server
// (v2.12.0) built from the tools module (tools/go.mod), so that neither it
// nor its dependencies (zerolog, prometheus, gorilla/mux) are in the
// gateway's go.mod. The tests drive it through its HTTP API.

// txBinary is the path of the toxiproxy server binary, built once per test
// process by `go tool -n server` in the tools module (the go command caches
// the build).
var txBinary = sync.OnceValues(func() (string, error) {
	cmd := exec.Command("go", "tool", "-n", "server")
	cmd.Dir = "../tools"
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return "", fmt.Errorf("building toxiproxy from tools/go.mod: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
})

// txLog collects the server's output, shown when a test fails.
type txLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *txLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *txLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// txServer is a running toxiproxy server process.
type txServer struct {
	api  string // http://127.0.0.1:port
	http *http.Client
	logs *txLog
}

// txStartServer starts a toxiproxy server on a free loopback port and waits
// until its API answers. Cleanup stops it, which closes every proxy and
// connection it holds.
func txStartServer(t *testing.T) *txServer {
	t.Helper()
	bin, err := txBinary()
	if err != nil {
		t.Fatal(err)
	}
	// No keep-alive: an idle API connection would be a goroutine the leak
	// check counts.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// The free port can be taken between freeAddr and the server's bind;
	// then the server exits and another port is tried.
	for attempt := 1; ; attempt++ {
		_, port, _ := net.SplitHostPort(freeAddr(t))
		logs := &txLog{}
		cmd := exec.Command(bin, "-host", "127.0.0.1", "-port", port)
		// Info keeps what a failure needs (accepts, closes, link errors)
		// without a line per API call and per toxic step.
		cmd.Env = append(os.Environ(), "LOG_LEVEL=info")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("toxiproxy: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		s := &txServer{api: "http://127.0.0.1:" + port, http: client, logs: logs}
		_, answered := waitUntil(10*time.Second, func() bool {
			select {
			case <-exited:
				return true
			default:
			}
			resp, err := client.Get(s.api + "/version")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
		select {
		case <-exited:
			if attempt < 3 {
				continue
			}
			t.Fatalf("toxiproxy exited at start:\n%s", logs)
		default:
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("toxiproxy output:\n%s", logs)
			}
		})
		if !answered {
			t.Fatalf("toxiproxy API did not answer within 10s:\n%s", logs)
		}
		return s
	}
}

// call sends one API request and fails t unless the status is want.
func (s *txServer) call(t *testing.T, method, path, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("toxiproxy %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("toxiproxy %s %s %s: %d %s, want %d", method, path, body, resp.StatusCode, b, want)
	}
	return b
}

// txProxy is one toxiproxy proxy in front of an upstream.
type txProxy struct {
	t    *testing.T
	s    *txServer
	name string
	addr string // where the gateway dials
	port string // addr's port as /proc/net/tcp shows it: 4 hex digits
}

// proxy creates a proxy on a free loopback port forwarding to upstream.
func (s *txServer) proxy(t *testing.T, name, upstream string) *txProxy {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true})
	var created struct {
		Listen string `json:"listen"`
	}
	if err := json.Unmarshal(s.call(t, "POST", "/proxies", string(req), http.StatusCreated), &created); err != nil {
		t.Fatalf("toxiproxy: %v", err)
	}
	_, port, err := net.SplitHostPort(created.Listen)
	n, _ := strconv.Atoi(port)
	if err != nil || n == 0 {
		t.Fatalf("toxiproxy proxy %s listens on %q", name, created.Listen)
	}
	return &txProxy{t: t, s: s, name: name, addr: created.Listen, port: fmt.Sprintf("%04X", n)}
}

// add installs a toxic given as toxiproxy's JSON (name, type, stream,
// toxicity, attributes); it applies to existing links too.
func (p *txProxy) add(js string) {
	p.t.Helper()
	p.s.call(p.t, "POST", "/proxies/"+p.name+"/toxics", js, http.StatusOK)
}

// down disables the proxy: its listener closes, so connections are refused.
func (p *txProxy) down() {
	p.t.Helper()
	p.s.call(p.t, "POST", "/proxies/"+p.name, `{"enabled": false}`, http.StatusOK)
}

// heal removes every toxic and brings every proxy back up (toxiproxy's
// /reset; the cases run one at a time, so only this proxy had any).
func (p *txProxy) heal() {
	p.t.Helper()
	p.s.call(p.t, "POST", "/reset", "", http.StatusNoContent)
}
