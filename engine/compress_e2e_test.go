package engine

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// type: compress through the real stack: a net/http upstream, the
// gateway's relay (loop and response stream) running the body phase, and
// clients that decode each coding with their own decoder.

const squeezeConfig = `
middleware:
  squeeze: {type: compress, encodings: [zstd, br, gzip], min_size: 1KiB, content_types: [application/json, "text/*"]}
`

const squeezeRoutes = `  - name: c
    match: {path: /c/*}
    cluster: up
    middleware: [squeeze]
`

// jsonDoc is the 64 KiB JSON body of the compression benchmarks.
func jsonDoc(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/64k.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// squeezeUpstream answers /c/<case> with the JSON document in the framing
// or with the headers the case names.
func squeezeUpstream(t testing.TB, doc []byte) *countingServer {
	return startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/c/length":
			h.Set("Content-Length", strconv.Itoa(len(doc)))
			h.Set("ETag", `"doc-v1"`)
			h.Set("Vary", "Origin")
			h.Set("Accept-Ranges", "bytes")
		case "/c/chunked": // net/http chunks a body written in flushed parts
			for p := doc; len(p) > 0; {
				n := min(len(p), 10000)
				_, _ = w.Write(p[:n])
				w.(http.Flusher).Flush()
				p = p[n:]
			}
			return
		case "/c/204":
			w.WriteHeader(204)
			return
		case "/c/304":
			h.Set("ETag", `"doc-v1"`)
			w.WriteHeader(304)
			return
		case "/c/206":
			h.Set("Content-Range", "bytes 0-1999/"+strconv.Itoa(len(doc)))
			w.WriteHeader(206)
			_, _ = w.Write(doc[:2000])
			return
		case "/c/no-transform":
			h.Set("Cache-Control", "max-age=60, no-transform")
		case "/c/encoded": // gzip'd by the upstream: passed through as it is
			h.Set("Content-Encoding", "gzip")
			var b bytes.Buffer
			z := gzip.NewWriter(&b)
			_, _ = z.Write(doc)
			_ = z.Close()
			_, _ = w.Write(b.Bytes())
			return
		case "/c/small":
			_, _ = w.Write(doc[:500])
			return
		case "/c/png":
			h.Set("Content-Type", "image/png")
		}
		_, _ = w.Write(doc)
	}))
}

// decodeAs decodes body as coding says (Content-Encoding's value).
func decodeAs(t testing.TB, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "gzip":
		z, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = z
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		z, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer z.Close()
		r = z
	case "":
		return body
	default:
		t.Fatalf("unexpected Content-Encoding %q", coding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", coding, err)
	}
	return out
}

// TestCompressEndToEnd sends every case on one keep-alive connection, read
// by net/http's response parser (no transparent decompression), so each
// response's framing is checked by the next one arriving intact.
func TestCompressEndToEnd(t *testing.T) {
	doc := jsonDoc(t)
	up := squeezeUpstream(t, doc)
	g := startGateway(t, oneCluster(up.addr, squeezeConfig, squeezeRoutes), 1)
	c := dialRaw(t, g.addr)
	get := func(method, path, ae string) (*http.Response, []byte) {
		t.Helper()
		req := method + " " + path + " HTTP/1.1\r\nHost: a\r\n"
		if ae != "" {
			req += "Accept-Encoding: " + ae + "\r\n"
		}
		c.send(req + "\r\n")
		resp, body := c.readResponse(method)
		if resp.Close {
			t.Fatalf("%s %s: the connection closes; it should stay keep-alive", method, path)
		}
		return resp, []byte(body)
	}
	for _, tc := range []struct{ ae, want string }{
		{"gzip", "gzip"}, {"br", "br"}, {"zstd", "zstd"},
		{"gzip, deflate, br, zstd", "zstd"}, // all equal: the configured order
		{"gzip;q=1, br;q=0.5", "gzip"},
		{"*;q=0.1, zstd;q=0", "br"},
		{"identity", ""}, {"", ""}, {"gzip;q=0", ""},
	} {
		for _, path := range []string{"/c/length", "/c/chunked"} {
			resp, body := get("GET", path, tc.ae)
			ce := resp.Header.Get("Content-Encoding")
			if resp.StatusCode != 200 || ce != tc.want {
				t.Fatalf("%s %q: %d Content-Encoding %q, want %q", path, tc.ae, resp.StatusCode, ce, tc.want)
			}
			if got := decodeAs(t, ce, body); !bytes.Equal(got, doc) {
				t.Fatalf("%s %q: decoded %d bytes differ from the %d sent", path, tc.ae, len(got), len(doc))
			}
			if vary := resp.Header.Values("Vary"); path == "/c/length" && (len(vary) != 1 || vary[0] != "Origin, Accept-Encoding") {
				t.Fatalf("%s %q: Vary %q, want one merged line", path, tc.ae, vary)
			} else if path == "/c/chunked" && (len(vary) != 1 || vary[0] != "Accept-Encoding") {
				t.Fatalf("%s %q: Vary %q", path, tc.ae, vary)
			}
			if ce == "" {
				if path == "/c/length" && (resp.ContentLength != int64(len(doc)) || resp.Header.Get("ETag") != `"doc-v1"`) {
					t.Fatalf("%s identity: length %d, ETag %q: the response should be untouched", path, resp.ContentLength, resp.Header.Get("ETag"))
				}
				continue
			}
			if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || len(body) > len(doc)/3 {
				t.Fatalf("%s %q: length %d, Transfer-Encoding %v, %d bytes: want chunked and smaller", path, tc.ae, resp.ContentLength, resp.TransferEncoding, len(body))
			}
			if path == "/c/length" && (resp.Header.Get("ETag") != `W/"doc-v1"` || resp.Header.Get("Accept-Ranges") != "") {
				t.Fatalf("%s %q: ETag %q, Accept-Ranges %q", path, tc.ae, resp.Header.Get("ETag"), resp.Header.Get("Accept-Ranges"))
			}
		}
	}
	// Responses the filter must leave alone, byte for byte.
	for _, tc := range []struct {
		method, path string
		status       int
		body         []byte
	}{
		{"HEAD", "/c/length", 200, nil},
		{"GET", "/c/204", 204, nil},
		{"GET", "/c/304", 304, nil},
		{"GET", "/c/206", 206, doc[:2000]},
		{"GET", "/c/no-transform", 200, doc},
		{"GET", "/c/small", 200, doc[:500]},
		{"GET", "/c/png", 200, doc},
	} {
		resp, body := get(tc.method, tc.path, "gzip, br, zstd")
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, tc.body) {
			t.Fatalf("%s %s: %d Content-Encoding %q, %d bytes: want %d untouched", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Content-Encoding"), len(body), tc.status)
		}
		if tc.path == "/c/length" && resp.ContentLength != int64(len(doc)) {
			t.Fatalf("HEAD: Content-Length %d, want the upstream's %d", resp.ContentLength, len(doc))
		}
		if tc.path == "/c/304" && resp.Header.Get("ETag") != `"doc-v1"` {
			t.Fatalf("304: ETag %q", resp.Header.Get("ETag"))
		}
	}
	resp, body := get("GET", "/c/encoded", "gzip, br, zstd")
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(decodeAs(t, "gzip", body), doc) {
		t.Fatal("an upstream-encoded body was not passed through as it is")
	}
}

// TestCompressHTTP10Client: an HTTP/1.0 client cannot read chunked, so a
// compressed body is close-delimited, with no Content-Length.
func TestCompressHTTP10Client(t *testing.T) {
	doc := jsonDoc(t)
	up := squeezeUpstream(t, doc)
	g := startGateway(t, oneCluster(up.addr, squeezeConfig, squeezeRoutes), 1)
	for _, path := range []string{"/c/length", "/c/chunked"} {
		c := dialRaw(t, g.addr)
		c.send("GET " + path + " HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n")
		resp, body := c.readResponse("GET")
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != -1 || len(resp.TransferEncoding) != 0 || !resp.Close {
			t.Fatalf("%s: %v length %d TE %v close %v", path, resp.Header, resp.ContentLength, resp.TransferEncoding, resp.Close)
		}
		if !bytes.Equal(decodeAs(t, "gzip", []byte(body)), doc) {
			t.Fatalf("%s: decoded body differs", path)
		}
		c.expectEOF()
	}
}

// TestCompressGoClient: Go's own client, with transparent decompression
// off and an explicit Accept-Encoding, through a pooled connection.
func TestCompressGoClient(t *testing.T) {
	doc := jsonDoc(t)
	up := squeezeUpstream(t, doc)
	g := startGateway(t, oneCluster(up.addr, squeezeConfig, squeezeRoutes), 2)
	cl := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxConnsPerHost: 1}}
	defer cl.CloseIdleConnections()
	for i, ae := range []string{"zstd", "br", "gzip", "gzip", "br", "zstd"} {
		req, _ := http.NewRequest("GET", g.url("/c/chunked"), nil)
		req.Header.Set("Accept-Encoding", ae)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Encoding") != ae || !bytes.Equal(decodeAs(t, ae, body), doc) {
			t.Fatalf("request %d (%s): %v, Content-Encoding %q", i, ae, err, resp.Header.Get("Content-Encoding"))
		}
	}
}

// TestCompressCurl: curl --compressed asks for what its build decodes and
// must get the document back.
func TestCompressCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not on PATH")
	}
	doc := jsonDoc(t)
	up := squeezeUpstream(t, doc)
	g := startGateway(t, oneCluster(up.addr, squeezeConfig, squeezeRoutes), 1)
	for _, path := range []string{"/c/length", "/c/chunked"} {
		out, err := exec.Command(curl, "-sS", "--compressed", "-D", "-", "--max-time", "10", g.url(path)).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		head, body, _ := strings.Cut(string(out), "\r\n\r\n")
		if !strings.Contains(strings.ToLower(head), "content-encoding: ") || body != string(doc) {
			t.Fatalf("%s: curl got %d bytes with head\n%s", path, len(body), head)
		}
	}
}

// TestCompressedStreamToSlowReader: a compressed response to a client that
// does not read moves off the loop with its encoder (stream_response.go)
// and arrives whole; the connection then carries the next request.
func TestCompressedStreamToSlowReader(t *testing.T) {
	const size = 16 << 20
	want := patternHash(size)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		_, _ = io.CopyN(w, &pattern{}, size) // incompressible: gzip's output is as large
	}))
	g := startGatewayOpts(t, oneCluster(up.addr, "middleware:\n  z: {type: compress, encodings: [gzip], level: {gzip: 1}}",
		"  - name: r\n    match: {path: /x/*}\n    cluster: up\n    middleware: [z]\n"), Options{Loops: 1, WriteBuffer: 16 << 10})
	c := dialSmallRcv(t, g.addr)
	for _, q := range []string{"a", "chunked=1"} {
		streams := g.e.Streams()
		c.send("GET /x/?" + q + " HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n")
		eventually(t, 10e9, "the response leaves the loop", func() bool { return g.e.Streams() > streams })
		resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, z)
		resp.Body.Close()
		if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want {
			t.Fatalf("%s: %d of %d bytes (%v), intact=%v", q, n, size, err, hex.EncodeToString(h.Sum(nil)) == want)
		}
		if resp.Close {
			t.Fatalf("%s: connection closes after a streamed compressed response", q)
		}
	}
}

// TestCompress100MiBBoundedMemory streams 100 MiB through an encoder
// (zstd at its fastest, the cheapest to run under -race): the body is
// encoded run by run, so the heap stays flat. The whole process is
// measured: upstream, gateway and client.
func TestCompress100MiBBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MiB through an encoder: not with -short")
	}
	const size = 100 << 20
	doc := jsonDoc(t)
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for sent := 0; sent < size; sent += len(doc) {
			if _, err := w.Write(doc); err != nil {
				return
			}
		}
	}))
	g := startGateway(t, oneCluster(up.addr, "middleware:\n  z: {type: compress, encodings: [zstd], level: {zstd: 1}}",
		"  - name: r\n    match: {path: /x/*}\n    cluster: up\n    middleware: [z]\n"), 1)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	c := dialRaw(t, g.addr)
	_ = c.SetDeadline(time.Now().Add(100 * time.Second))
	c.send("GET /x/big HTTP/1.1\r\nHost: a\r\nAccept-Encoding: zstd\r\n\r\n")
	resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Encoding") != "zstd" || resp.ContentLength != -1 {
		t.Fatalf("Content-Encoding %q, length %d", resp.Header.Get("Content-Encoding"), resp.ContentLength)
	}
	z, err := zstd.NewReader(resp.Body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var n int64
	buf := make([]byte, 256<<10)
	for {
		m, err := z.Read(buf)
		if n/(8<<20) != (n+int64(m))/(8<<20) {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
	}
	if n != size {
		t.Fatalf("%d of %d bytes", n, size)
	}
	if grew := int64(peak) - int64(base); grew > 48<<20 {
		t.Fatalf("heap grew by %d MiB while 100 MiB streamed through the encoder", grew>>20)
	}
	t.Logf("heap in use: %d MiB before, %d MiB peak", base>>20, peak>>20)
}

// BenchmarkProxyCompress is the round trip of the 64 KiB JSON response
// through each coding at its default level: time and allocations per
// response (the encoders are pooled; zstd's stream writer allocates two
// small scratch arrays per frame).
func BenchmarkProxyCompress(b *testing.B) {
	doc := jsonDoc(b)
	upResp := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(doc)) + "\r\n\r\n" + string(doc)
	for _, coding := range []string{"gzip", "br", "zstd"} {
		b.Run(coding, func(b *testing.B) {
			up := rawUpstream(b, []byte(upResp))
			g := startGateway(b, oneCluster(up, "middleware:\n  z: {type: compress}",
				"  - name: all\n    match: {path: /*}\n    cluster: up\n    middleware: [z]\n"), 1)
			c, err := net.Dial("tcp", g.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: " + coding + "\r\n\r\n")
			// The compressed response has the same length every time: learn
			// it from the first one (it ends with the last chunk).
			if _, err := c.Write(req); err != nil {
				b.Fatal(err)
			}
			var first []byte
			buf := make([]byte, 64<<10)
			for !bytes.HasSuffix(first, []byte("\r\n0\r\n\r\n")) {
				n, err := c.Read(buf)
				if err != nil {
					b.Fatal(err)
				}
				first = append(first, buf[:n]...)
			}
			resp := make([]byte, len(first))
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
