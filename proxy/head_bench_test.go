package proxy

import (
	"net/netip"
	"testing"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/upstream"
)

// BenchmarkUpstreamHead is the CPU cost of writing one upstream request
// head (forwarding headers included) for a typical browser-ish request,
// without the sockets that dominate BenchmarkProxyRoundTrip's time.
func BenchmarkUpstreamHead(b *testing.B) {
	raw := []byte("GET /api/users/42?x=1 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench/1.0\r\n" +
		"Accept: */*\r\nAccept-Encoding: gzip\r\nX-Forwarded-For: 203.0.113.9\r\nCookie: a=b\r\n\r\n")
	var req http1.Request
	if _, err := http1.ParseRequest(raw, &req, nil); err != nil {
		b.Fatal(err)
	}
	addr := netip.MustParseAddr("127.0.0.1")
	ex := &exchange{
		cl:     &client{addr: addr, ip: []byte(addr.String())},
		route:  &pipeline.Route{},
		target: &upstream.Target{Host: []byte("10.0.0.1:8080")},
	}
	ex.fx.ClientIP = addr
	ex.setID([]byte("0123456789abcdef0123456789abcdef"))
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendUpstreamHead(buf[:0], ex, &req, req.Path)
	}
}
