package engine

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What the gateway writes in place of what it was sent, end to end through
// real sockets: raw bytes from a client, the exact bytes an upstream
// received (dgUpstream captures them before anything parses them), and the
// exact bytes a client received from a scripted upstream.

// allRoute is one catch-all route to cluster "up".
const allRoute = "  - name: all\n    match: {path: /*}\n    cluster: up\n"

// readUntil reads raw bytes off c until they end with suffix.
func (c *rawConn) readUntil(suffix string) string {
	c.t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	for !strings.HasSuffix(b.String(), suffix) {
		ch, err := c.r.ReadByte()
		if err != nil {
			c.t.Fatalf("read (after %q): %v", b.String(), err)
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// splitHead splits a captured message at the end of its head.
func splitHead(t *testing.T, msg string) (head, body string) {
	t.Helper()
	head, body, ok := strings.Cut(msg, "\r\n\r\n")
	if !ok {
		t.Fatalf("no complete head in %q", msg)
	}
	return head + "\r\n", body
}

// fieldValues returns the values of every field called name in a raw head,
// in order, by reading the lines (no parser's folding or joining).
func fieldValues(head, name string) []string {
	var vs []string
	for _, l := range strings.Split(head, "\r\n")[1:] {
		n, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(n, name) {
			vs = append(vs, strings.TrimSpace(v))
		}
	}
	return vs
}

// roundTrip sends raw on a fresh connection, reads the response with
// net/http and returns its status and what the upstream captured.
func roundTrip(t *testing.T, g *gateway, u *dgUpstream, raw string) (int, string) {
	t.Helper()
	c := dialRaw(t, g.addr)
	c.send(raw)
	resp, _ := c.readResponse("POST")
	return resp.StatusCode, string(u.take())
}

// TestRequestChunkedBodyIsReframed: chunk extensions with BWS ("5 ;a=b",
// which some upstreams answer with 400) and trailer fields (framing and
// routing fields among them) used to reach the upstream byte for byte. The
// upstream now sees the gateway's own framing: bare hex sizes, the last
// chunk, no trailers.
func TestRequestChunkedBodyIsReframed(t *testing.T) {
	u := dgStartUpstream(t)
	g := startGateway(t, oneCluster(u.addr, "", allRoute), 1)
	status, got := roundTrip(t, g, u, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5 ;a=b\r\nhello\r\n6;x=\"q;\\\"\"\r\n world\r\n0;end\r\n"+
		"Content-Length: 999\r\nTransfer-Encoding: chunked\r\nHost: evil.example\r\nX-Checksum: 1\r\n\r\n")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	head, body := splitHead(t, got)
	if want := "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"; body != want {
		t.Fatalf("upstream received body %q, want %q", body, want)
	}
	if te := fieldValues(head, "Transfer-Encoding"); len(te) != 1 || te[0] != "chunked" {
		t.Fatalf("Transfer-Encoding %q", te)
	}
	if v := fieldValues(head, "Trailer"); v != nil {
		t.Fatalf("Trailer announced: %q", v)
	}
}

// TestResponseChunkedBodyIsReframed: the same toward the client, for an
// HTTP/1.1 client (re-chunked) and an HTTP/1.0 one (de-chunked, closed).
func TestResponseChunkedBodyIsReframed(t *testing.T) {
	up := startScriptedUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := readRawHead(br); err != nil {
				return
			}
			_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
				"5 ; ext=1\r\nhello\r\n000006;a=\"b\"\r\n world\r\n0\r\n" +
				"Content-Length: 3\r\nSet-Cookie: s=1\r\nX-Sum: 42\r\n\r\n"))
			if err != nil {
				return
			}
		}
	})
	g := startGateway(t, oneCluster(up.addr, "", allRoute), 1)
	c := dialRaw(t, g.addr)
	c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	head, body := splitHead(t, c.readUntil("\r\n0\r\n\r\n"))
	if want := "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"; body != want {
		t.Fatalf("client received body %q, want %q", body, want)
	}
	if v := fieldValues(head, "Trailer"); v != nil {
		t.Fatalf("Trailer announced: %q", v)
	}
	// The connection is still in step: a second exchange works.
	c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := c.readResponse("GET"); body != "hello world" {
		t.Fatalf("second response %q", body)
	}

	c10 := dialRaw(t, g.addr)
	c10.send("GET /x HTTP/1.0\r\n\r\n")
	_ = c10.SetReadDeadline(time.Now().Add(5 * time.Second))
	var all strings.Builder
	if _, err := c10.r.WriteTo(&all); err != nil {
		t.Fatal(err)
	}
	if _, body := splitHead(t, all.String()); body != "hello world" {
		t.Fatalf("HTTP/1.0 client received body %q", body)
	}
}

// readRawHead reads one request head and, when it announces a body,
// nothing more (the scripted upstreams here get bodiless requests).
func readRawHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String(), nil
		}
	}
}

// TestOversizedChunkSizeIsRefused: a chunk size that fits no signed 64-bit
// length is 400, and one past max_body_bytes is 413 as soon as its size line
// is read, before the head or any of it reaches the upstream (it used to be
// forwarded, and a body that stopped short of the limit was never refused).
func TestOversizedChunkSizeIsRefused(t *testing.T) {
	u := dgStartUpstream(t)
	g := startGateway(t, oneCluster(u.addr, "limits: {max_body_bytes: 1KiB}", allRoute), 1)
	cases := []struct {
		name, body string
		want       int
	}{
		// 2^63: nginx's bound too.
		{"2^63", "8000000000000000\r\nabc", 400},
		{"2^64-1", "ffffffffffffffff\r\nabc", 400},
		// 1 MiB announced, a few bytes sent: refused on the size line.
		{"past max_body_bytes", "100000\r\nabc", 413},
		// Two chunks that together pass the limit.
		{"sum past max_body_bytes", "200\r\n" + strings.Repeat("a", 0x200) + "\r\n201\r\nabc", 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, g.addr)
			c.send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + tc.body)
			if err := dgExpectRejected(t, c, tc.want); err != nil {
				t.Fatal(err)
			}
			if got := u.take(); len(got) != 0 {
				t.Fatalf("upstream received %q", got)
			}
		})
	}
}

// TestNoContentLengthOn204Or1xx: RFC 9110 §8.6 forbids Content-Length on
// 1xx and 204 (a client may wait for a body that never comes); an
// upstream's is dropped. A 304's, which describes the resource, and a
// HEAD response's stay.
func TestNoContentLengthOn204Or1xx(t *testing.T) {
	up := startScriptedUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			head, err := readRawHead(br)
			if err != nil {
				return
			}
			var resp string
			switch {
			case strings.HasPrefix(head, "GET /204 "):
				resp = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nContent-Length: 7\r\n\r\n" +
					"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n"
			case strings.HasPrefix(head, "GET /304 "):
				resp = "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: \"e\"\r\n\r\n"
			default:
				resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
			}
			if _, err := c.Write([]byte(resp)); err != nil {
				return
			}
		}
	})
	g := startGateway(t, oneCluster(up.addr, "", allRoute), 1)
	c := dialRaw(t, g.addr)
	c.send("GET /204 HTTP/1.1\r\nHost: a\r\n\r\n")
	interim := c.readUntil("\r\n\r\n")
	if !strings.HasPrefix(interim, "HTTP/1.1 103 ") || fieldValues(interim, "Content-Length") != nil || fieldValues(interim, "Link") == nil {
		t.Errorf("interim head %q", interim)
	}
	final := c.readUntil("\r\n\r\n")
	if !strings.HasPrefix(final, "HTTP/1.1 204 ") || fieldValues(final, "Content-Length") != nil || fieldValues(final, "X-A") == nil {
		t.Errorf("204 head %q", final)
	}
	c.send("GET /304 HTTP/1.1\r\nHost: a\r\n\r\n")
	if h := c.readUntil("\r\n\r\n"); !strings.HasPrefix(h, "HTTP/1.1 304 ") || strings.Join(fieldValues(h, "Content-Length"), ",") != "5" {
		t.Fatalf("304 head %q", h)
	}
	c.send("HEAD /200 HTTP/1.1\r\nHost: a\r\n\r\n")
	if h := c.readUntil("\r\n\r\n"); !strings.HasPrefix(h, "HTTP/1.1 200 ") || strings.Join(fieldValues(h, "Content-Length"), ",") != "5" {
		t.Fatalf("HEAD head %q", h)
	}
}

// forgedForwarding are the forwarding headers a client might forge.
const forgedForwarding = "X-Forwarded-For: 6.6.6.6\r\nx-forwarded-for: 7.7.7.7\r\n" +
	"Forwarded: for=6.6.6.6;proto=https;host=bank.example\r\n" +
	"X-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: bank.example\r\n"

// TestForgedForwardingHeadersAreReplaced: from a peer that is not a trusted
// proxy, every forwarding header a client wrote is replaced by the
// gateway's own (Forwarded and X-Real-IP used to pass through, and
// X-Forwarded-For kept the forged entries at the left, where many
// frameworks read the client).
func TestForgedForwardingHeadersAreReplaced(t *testing.T) {
	u := dgStartUpstream(t)
	g := startGateway(t, oneCluster(u.addr, "", allRoute), 1)
	_, got := roundTrip(t, g, u, "GET /x HTTP/1.1\r\nHost: api.example:8080\r\n"+forgedForwarding+"\r\n")
	head, _ := splitHead(t, got)
	want := map[string]string{
		"X-Forwarded-For":   "127.0.0.1",
		"Forwarded":         `for=127.0.0.1;proto=http;host="api.example:8080"`,
		"X-Real-IP":         "127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  "api.example:8080",
	}
	for name, w := range want {
		if vs := fieldValues(head, name); len(vs) != 1 || vs[0] != w {
			t.Errorf("%s: upstream got %q, want [%q]", name, vs, w)
		}
	}
}

// TestTrustedProxyForwardingHeadersAreKept: from a trusted proxy, its
// X-Forwarded-For and Forwarded lists are kept with our hop appended, its
// scheme and host are kept, and X-Real-IP is the client resolved from its
// X-Forwarded-For (the same address per-IP limits and logs use).
func TestTrustedProxyForwardingHeadersAreKept(t *testing.T) {
	u := dgStartUpstream(t)
	g := startGateway(t, oneCluster(u.addr, "trusted_proxies: [127.0.0.1]", allRoute), 1)
	_, got := roundTrip(t, g, u, "GET /x HTTP/1.1\r\nHost: api.example\r\n"+
		"X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\nForwarded: for=203.0.113.7;proto=https\r\n"+
		"X-Real-IP: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.example\r\n\r\n")
	head, _ := splitHead(t, got)
	want := map[string]string{
		"X-Forwarded-For":   "6.6.6.6, 203.0.113.7, 127.0.0.1",
		"Forwarded":         "for=203.0.113.7;proto=https, for=127.0.0.1;proto=http;host=api.example",
		"X-Real-IP":         "203.0.113.7",
		"X-Forwarded-Proto": "https",
		"X-Forwarded-Host":  "shop.example",
	}
	for name, w := range want {
		if vs := fieldValues(head, name); len(vs) != 1 || vs[0] != w {
			t.Errorf("%s: upstream got %q, want [%q]", name, vs, w)
		}
	}
	// Without any forwarding headers a trusted proxy gets ours.
	_, got = roundTrip(t, g, u, "GET /x HTTP/1.1\r\nHost: api.example\r\n\r\n")
	head, _ = splitHead(t, got)
	if vs := fieldValues(head, "X-Forwarded-Proto"); len(vs) != 1 || vs[0] != "http" {
		t.Errorf("X-Forwarded-Proto %q", vs)
	}
	if vs := fieldValues(head, "X-Real-IP"); len(vs) != 1 || vs[0] != "127.0.0.1" {
		t.Errorf("X-Real-IP %q", vs)
	}
}

// readOurChunked reads a chunked body that the gateway framed from r into
// data, and fails unless every size line is the gateway's own (bare
// lower-case hex, no extensions or whitespace) and the body ends with the
// last chunk and no trailers.
func readOurChunked(r *bufio.Reader, data io.Writer) error {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseUint(strings.TrimSuffix(line, "\r\n"), 16, 63)
		if err != nil || !strings.HasSuffix(line, "\r\n") || strings.ToLower(line) != line || line[0] == '0' && line != "0\r\n" {
			return fmt.Errorf("size line %q is not the gateway's", line)
		}
		if size == 0 {
			if end, err := r.ReadString('\n'); err != nil || end != "\r\n" {
				return fmt.Errorf("after the last chunk: %q (%v)", end, err)
			}
			return nil
		}
		if _, err := io.CopyN(data, r, int64(size)); err != nil {
			return err
		}
		if crlf, err := r.ReadString('\n'); err != nil || crlf != "\r\n" {
			return fmt.Errorf("after chunk data: %q (%v)", crlf, err)
		}
	}
}

// writeExtChunks writes n bytes of pattern as chunks of 16 KiB with
// extensions and BWS, then the last chunk with a trailer.
func writeExtChunks(w io.Writer, n int) error {
	src := &pattern{}
	buf := make([]byte, 16<<10)
	for n > 0 {
		k := min(n, len(buf))
		_, _ = src.Read(buf[:k])
		if _, err := fmt.Fprintf(w, "%X ; ext=\"v\"\r\n%s\r\n", k, buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	_, err := io.WriteString(w, "0;end\r\nContent-Length: 1\r\n\r\n")
	return err
}

// TestStreamedChunkedBodiesAreReframed: the off-loop paths (stream.go
// copyRequest and copyResponse) re-frame with the same framer: an upload to
// an upstream that reads nothing until the body moved to a stream, and a
// download to a client that reads nothing until the same, both arrive with
// the gateway's size lines only, no trailers, and every byte intact.
func TestStreamedChunkedBodiesAreReframed(t *testing.T) {
	const size = 8 << 20
	want := patternHash(size)

	// Upload. A small receive buffer (inherited from the listener, so the
	// window is small from the handshake on) makes the gateway's outbound
	// buffer pass streamHighWater while the upstream holds off reading.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		_ = rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) })
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	served := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-served })
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		select {
		case <-release:
		case <-time.After(30 * time.Second):
			return
		}
		br := bufio.NewReader(c)
		if _, err := readRawHead(br); err != nil {
			return
		}
		h := sha256.New()
		answer := ""
		if err := readOurChunked(br, h); err != nil {
			answer = err.Error()
		} else {
			answer = hex.EncodeToString(h.Sum(nil))
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
	}()
	g := startGateway(t, oneCluster(ln.Addr().String(), "limits: {max_body_bytes: 0}", allRoute), 1)
	streams := g.e.Streams()
	c := dialRaw(t, g.addr)
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	sent := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
		if err == nil {
			err = writeExtChunks(c, size)
		}
		sent <- err
	}()
	waitStream(t, g, streams, "the upload")
	close(release)
	resp, body := c.readResponse("POST")
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}

	// Download: the client reads nothing until the body moved off the loop.
	up := startScriptedUpstream(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := readRawHead(bufio.NewReader(c)); err != nil {
			return
		}
		bw := bufio.NewWriterSize(c, 64<<10)
		_, _ = io.WriteString(bw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		_ = writeExtChunks(bw, size)
		_ = bw.Flush()
	})
	g2 := startGateway(t, oneCluster(up.addr, "", allRoute), 1)
	streams = g2.e.Streams()
	sc := dialSmallRcv(t, g2.addr)
	sc.send("GET /down HTTP/1.1\r\nHost: a\r\n\r\n")
	waitStream(t, g2, streams, "the download")
	resp, err = http.ReadResponse(sc.r, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) != 1 {
		t.Fatalf("download framing %q", resp.TransferEncoding)
	}
	// net/http has consumed the head only; the raw body follows in sc.r.
	h := sha256.New()
	if err := readOurChunked(sc.r, h); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("download hash %s, want %s", got, want)
	}
}

// waitStream waits until g has started a stream since it counted before.
// It polls: the condition, not the pause, is what is waited for.
func waitStream(t *testing.T, g *gateway, before int64, what string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); g.e.Streams() == before; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never moved to a stream; the test would not exercise stream.go", what)
		}
	}
}
