package engine

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
)

// rawUpstream answers every request head it reads with resp, allocating
// nothing per request, so a benchmark's allocations are the gateway's.
func rawUpstream(tb testing.TB, resp []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				var tail [3]byte // end of the previous read, for a split "\r\n\r\n"
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					data := buf[:n]
					heads := bytes.Count(data, []byte("\r\n\r\n"))
					var seam [6]byte // a head split across two reads
					k := copy(seam[:], tail[:])
					k += copy(seam[k:], data[:min(3, n)])
					heads += bytes.Count(seam[:k], []byte("\r\n\r\n"))
					if n >= 3 {
						copy(tail[:], data[n-3:])
					}
					for range heads {
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkProxyRoundTrip is one small GET through the real gateway over a
// keep-alive client connection and a pooled upstream connection, on
// loopback. allocs/op counts every allocation in the process per proxied
// request: the client and upstream here allocate nothing, so it is the
// gateway's. Target: 0 in steady state.
func BenchmarkProxyRoundTrip(b *testing.B) { benchmarkProxy(b, "", "", "") }

// BenchmarkProxyAccessLog is the same with the JSON access log on (to a
// file): formatting and queueing a line must not allocate either.
func BenchmarkProxyAccessLog(b *testing.B) {
	benchmarkProxy(b, fmt.Sprintf("access_log: {path: %q}", filepath.Join(b.TempDir(), "access.log")), "", "")
}

// BenchmarkProxyRoundTripTransform is the round trip with a transform on
// the route: request headers from templates, a client header removed, a
// query parameter set, the path rewritten by replace_prefix and a response
// header set. Target: 0 allocs/op, as without it.
func BenchmarkProxyRoundTripTransform(b *testing.B) {
	benchmarkProxy(b, transformBenchMiddleware, "    middleware: [shape]\n", "")
}

// BenchmarkProxyRoundTripTransformCORS is the same with cors before the
// transform, granting a pattern-allowed origin: the issue's "0-alloc
// benchmark with transform + cors on the route".
func BenchmarkProxyRoundTripTransformCORS(b *testing.B) {
	benchmarkProxy(b, transformBenchMiddleware+
		`  edge_cors: {type: cors, allow_origins: ["https://*.example.com"], expose_headers: [X-Request-ID], allow_credentials: true}
`, "    middleware: [edge_cors, shape]\n", "Origin: https://shop.example.com\r\n")
}

const transformBenchMiddleware = `middleware:
  shape: {type: transform,
          request:  {set_headers: {X-Tenant: "t-{params.*}", X-Client: "{client_ip}"}, add_headers: {X-Req: "{request_id}"},
                     remove_headers: [User-Agent], set_query: {v: "2"}, replace_prefix: {from: /bench, to: /v1/bench}},
          response: {set_headers: {X-Frame-Options: DENY}}}
`

// BenchmarkProxySmallPOST is the round trip of a POST with a 64-byte body,
// which request buffering (on by default) finds whole in the first read.
func BenchmarkProxySmallPOST(b *testing.B) {
	benchmarkRoundTrip(b, plainResponse, plainSuffix, "", "", smallPOST)
}

// BenchmarkProxySmallPOSTUnbuffered is the same POST with request
// buffering off (the body streams as it arrives).
func BenchmarkProxySmallPOSTUnbuffered(b *testing.B) {
	benchmarkRoundTrip(b, plainResponse, plainSuffix, "limits: {request_buffer_bytes: 0}", "", smallPOST)
}

const smallPOST = "POST /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n" +
	`{"user":"bench","action":"update","value":1234567890,"ok":true} `

// BenchmarkProxyChunkedResponse is the round trip with a chunked response
// carrying a chunk extension: the gateway re-frames the body (its own size
// lines, http1.BodyFramer) without allocating.
func BenchmarkProxyChunkedResponse(b *testing.B) {
	benchmarkRoundTrip(b, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"+
		"c;x=y\r\nhello world\n\r\n0\r\n\r\n", "\r\n0\r\n\r\n", "", "", plainGET(""))
}

// The upstream's usual answer, and how what the client receives ends.
const (
	plainResponse = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello world\n"
	plainSuffix   = "hello world\n"
)

// plainGET is the benchmarks' GET with extra request header lines.
func plainGET(headers string) string {
	return "GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n" + headers + "\r\n"
}

// benchmarkProxy runs the round trip with extra top-level config, the
// route's extra lines (middleware) and extra request header lines.
func benchmarkProxy(b *testing.B, extra, route, headers string) {
	benchmarkRoundTrip(b, plainResponse, plainSuffix, extra, route, plainGET(headers))
}

// benchmarkRoundTrip runs request (head and body) against an upstream that
// answers upResp; suffix ends what the client receives.
func benchmarkRoundTrip(b *testing.B, upResp, suffix, extra, route, request string) {
	up := rawUpstream(b, []byte(upResp))
	g := startGateway(b, oneCluster(up, extra, "  - name: all\n    match: {path: /*}\n    cluster: up\n"+route), 1)
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte(request)
	// The response length is constant (fixed-width request IDs), so learn it
	// once; the first request also fills any cache (a jwt's token cache).
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	first := make([]byte, 4096)
	n, err := c.Read(first)
	if err != nil || !bytes.HasSuffix(first[:n], []byte(suffix)) {
		b.Fatalf("first response %q: %v", first[:n], err)
	}
	resp := make([]byte, n)
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
}
