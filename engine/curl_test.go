package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCurl drives the gateway with the real curl binary: a client with its
// own opinions on framing, HTTP/1.0 and Expect: 100-continue.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	checkGoroutineLeaks(t)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/hello":
			_, _ = io.WriteString(w, "hello")
		case "/api/sum": // what arrived: length, framing, hash
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "len=%d te=%s sha=%s", n, strings.Join(r.TransferEncoding, ","), hex.EncodeToString(h.Sum(nil)))
		case "/api/chunked": // no Content-Length: net/http chunks it
			for _, p := range []string{"part1 ", "part2 ", "part3"} {
				_, _ = io.WriteString(w, p)
				w.(http.Flusher).Flush()
			}
		}
	}))
	g := startGateway(t, ftConfig("", ftRoute("api", "/api", "up"), ftCluster{name: "up", addr: up.addr}), 2)

	dir := t.TempDir()
	file := func(name string, n int) (path, sum string) {
		b := make([]byte, n)
		for i, x := 0, uint32(n); i < n; i++ { // deterministic, not a repeating run
			x = x*1664525 + 1013904223
			b[i] = byte(x >> 24)
		}
		path = filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		return path, hex.EncodeToString(s[:])
	}
	big, bigSum := file("big.bin", 100<<10)
	small, smallSum := file("small.bin", 4<<10)

	// run runs curl with our flags first: -q ignores any ~/.curlrc, no proxy,
	// a hard time limit.
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, curl, append([]string{"-q", "-sS", "--noproxy", "*", "--max-time", "5"}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, stderr.String())
		}
		return string(out)
	}
	// head splits curl -i output into the last head and the body.
	head := func(t *testing.T, out string) (string, string) {
		t.Helper()
		i := strings.LastIndex(out, "\r\n\r\n")
		if i < 0 {
			t.Fatalf("no head in %q", out)
		}
		h := out[:i]
		if j := strings.LastIndex(h, "\r\n\r\nHTTP/"); j >= 0 { // skip interim responses
			h = h[j+4:]
		}
		return h, out[i+4:]
	}
	// timed parses the trailer written by -w '\n%{http_code} %{time_total}'.
	timed := func(t *testing.T, out string) (body string, code int, total time.Duration) {
		t.Helper()
		i := strings.LastIndexByte(out, '\n')
		f := strings.Fields(out[i+1:])
		if len(f) != 2 {
			t.Fatalf("bad -w trailer in %q", out)
		}
		code, _ = strconv.Atoi(f[0])
		secs, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("time_total %q: %v", f[1], err)
		}
		return out[:i], code, time.Duration(secs * float64(time.Second))
	}

	t.Run("GET -i: 200 with a generated X-Request-ID", func(t *testing.T) {
		h, body := head(t, run(t, "-i", g.url("/api/hello")))
		if !strings.HasPrefix(h, "HTTP/1.1 200 ") || body != "hello" {
			t.Fatalf("got head %q body %q", h, body)
		}
		if !regexp.MustCompile(`(?mi)^X-Request-ID: [0-9a-f]{32}$`).MatchString(strings.ReplaceAll(h, "\r", "")) {
			t.Fatalf("no generated X-Request-ID in %q", h)
		}
	})
	t.Run("POST 100 KiB chunked with --data-binary", func(t *testing.T) {
		out := run(t, "--data-binary", "@"+big, "-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream",
			"-w", "\n%{http_code} %{time_total}", g.url("/api/sum"))
		body, code, total := timed(t, out)
		want := fmt.Sprintf("len=%d te=chunked sha=%s", 100<<10, bigSum)
		if code != 200 || body != want {
			t.Fatalf("got %d %q, want 200 %q", code, body, want)
		}
		if total > 900*time.Millisecond { // curl waits 1 s for a 100 Continue that never comes
			t.Errorf("took %v", total)
		}
	})
	t.Run("--http1.0 gets the chunked response de-chunked, then close", func(t *testing.T) {
		h, body := head(t, run(t, "-i", "--http1.0", g.url("/api/chunked")))
		if !strings.Contains(h, " 200 ") || body != "part1 part2 part3" {
			t.Fatalf("got head %q body %q", h, body)
		}
		lower := strings.ToLower(h)
		if strings.Contains(lower, "transfer-encoding") || !strings.Contains(lower, "connection: close") {
			t.Fatalf("HTTP/1.0 response head %q: want no Transfer-Encoding and Connection: close", h)
		}
	})
	t.Run("Expect: 100-continue completes without curl's 1 s wait", func(t *testing.T) {
		out := run(t, "-H", "Expect: 100-continue", "--data-binary", "@"+small,
			"-w", "\n%{http_code} %{time_total}", g.url("/api/sum"))
		body, code, total := timed(t, out)
		want := fmt.Sprintf("len=%d te= sha=%s", 4<<10, smallSum)
		if code != 200 || body != want {
			t.Fatalf("got %d %q, want 200 %q", code, body, want)
		}
		if total >= 900*time.Millisecond {
			t.Fatalf("took %v: the 100 Continue did not come through, curl waited for its timeout", total)
		}
	})
}
