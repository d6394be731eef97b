package cors

import (
	"testing"

	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// BenchmarkCORS measures the filter's own work per request (the head is
// parsed once, outside the loop): a preflight answered at the edge, an
// actual request from an exact origin and one from a pattern's origin
// (echoed through the pooled buffer), each through Request, ResponseHead
// and Finish.
func BenchmarkCORS(b *testing.B) {
	for _, bc := range []struct{ name, raw string }{
		{"preflight", preflightPut + "Access-Control-Request-Headers: x-custom, content-type\r\n"},
		{"exact", "GET /r HTTP/1.1\r\nHost: api\r\nOrigin: https://app.example.com\r\n"},
		{"pattern", "GET /r HTTP/1.1\r\nHost: api\r\nOrigin: https://shop.example.com\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newExchange(b, appConfig)
			if _, err := http1.ParseRequest([]byte(bc.raw+"\r\n"), &e.req, nil); err != nil {
				b.Fatal(err)
			}
			up := []http1.Header{{Name: []byte("Content-Type"), Value: []byte("application/json")}}
			x := &e.x
			b.ReportAllocs()
			for b.Loop() {
				x.Reset(nil)
				x.Req, x.Method = &e.req, e.req.Method
				if v, _ := e.c.Run(x, 0); v == filter.Continue {
					e.c.ResponseHead(x, 1, 200, up, false)
				}
				e.c.Finish(x)
			}
		})
	}
}
