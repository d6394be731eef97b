package engine

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// TestStreamedResponsesKeepOrderAndFraming: responses a slow client reads
// are written to its socket by the stream goroutine (stream_response.go).
// Two requests pipelined at once on one keep-alive connection, each answered
// with 4 MiB (Content-Length, then chunked), must arrive whole, in order,
// with the second one after the first and the connection still usable; an
// HTTP/1.0 client gets a chunked upstream body de-chunked and then the
// close. Each response must have left the loop (Streams grows), or the
// test proved nothing.
func TestStreamedResponsesKeepOrderAndFraming(t *testing.T) {
	const size = 4 << 20
	want := patternHash(size)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		w.Header().Set("X-Which", r.URL.RawQuery)
		_, _ = io.CopyN(w, &pattern{}, size) // without a length net/http chunks it
	}))
	g := startGatewayOpts(t, oneCluster(up.addr, "", "  - name: r\n    match: {path: /x/*}\n    cluster: up\n"), Options{Loops: 1, WriteBuffer: 16 << 10})

	read := func(c *rawConn, method, which string) *http.Response {
		t.Helper()
		resp, err := http.ReadResponse(c.r, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s: read head: %v", which, err)
		}
		h := sha256.New()
		n, err := slowerCopy(h, resp.Body, 256<<10) // slower than the upstream: it streams
		resp.Body.Close()
		if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want {
			t.Fatalf("%s: %d of %d bytes (%v), intact=%v", which, n, size, err, hex.EncodeToString(h.Sum(nil)) == want)
		}
		if got := resp.Header.Get("X-Which"); got != which {
			t.Fatalf("response for %q came where %q was expected: out of order", got, which)
		}
		return resp
	}

	streams := g.e.Streams()
	c := dialSmallRcv(t, g.addr)
	c.send("GET /x/a?len HTTP/1.1\r\nHost: gw.test\r\n\r\nGET /x/b?chunked=1 HTTP/1.1\r\nHost: gw.test\r\n\r\n")
	read(c, "GET", "len")
	if r := read(c, "GET", "chunked=1"); r.Close {
		t.Fatal("the second response closes the connection; it should stay keep-alive")
	}
	c.send("GET /x/c?len HTTP/1.1\r\nHost: gw.test\r\n\r\n")
	read(c, "GET", "len")
	if got := g.e.Streams() - streams; got < 3 {
		t.Fatalf("%d of 3 responses left the loop; the test did not exercise the response stream", got)
	}

	streams = g.e.Streams()
	old := dialSmallRcv(t, g.addr)
	old.send("GET /x/d?chunked=1 HTTP/1.0\r\nHost: gw.test\r\n\r\n")
	resp, err := http.ReadResponse(old.r, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("HTTP/1.0: %v", err)
	}
	if len(resp.TransferEncoding) != 0 {
		t.Fatalf("HTTP/1.0 client got Transfer-Encoding %v", resp.TransferEncoding)
	}
	h := sha256.New()
	n, err := slowerCopy(h, bufio.NewReader(resp.Body), 256<<10)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want {
		t.Fatalf("HTTP/1.0 de-chunked body: %d of %d bytes (%v), intact=%v", n, size, err, hex.EncodeToString(h.Sum(nil)) == want)
	}
	if g.e.Streams() == streams {
		t.Fatal("the HTTP/1.0 response never left the loop")
	}
	old.expectEOF()
}
