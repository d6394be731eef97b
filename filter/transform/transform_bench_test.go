package transform

import (
	"testing"

	"github.com/sluicehq/sluice/filter"
)

// BenchmarkTransformRequest is the request phase of a typical transform:
// two templated headers (a claim, a path parameter), a removal, a query
// parameter set and another removed, replace_prefix and a Host.
func BenchmarkTransformRequest(b *testing.B) {
	f := mustBuild(b, `{type: transform, request: {set_headers: {X-Tenant: "{claims.tenant}"}, add_headers: {X-Id: "u-{params.id}"},
  remove_headers: [Cookie], set_query: {v: "2"}, remove_query: [debug], replace_prefix: {from: /api/v1, to: /v1}, host: internal}}`)
	benchmarkRequest(b, f)
}

// BenchmarkTransformRegexpRewrite is a regexp rewrite with a capture
// group: its one allocation is Go's regexp's match positions.
func BenchmarkTransformRegexpRewrite(b *testing.B) {
	benchmarkRequest(b, mustBuild(b, `{type: transform, request: {rewrite: {regex: "^/api/v1/users/(\\d+)$", to: "/profiles/$1"}}}`))
}

func benchmarkRequest(b *testing.B, f filter.Filter) {
	r := newRequest(b, "/api/v1/users/:id", "GET /api/v1/users/42?debug=1&a=b HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\n\r\n", `{"tenant":"acme"}`)
	var x filter.Exchange
	b.ReportAllocs()
	for b.Loop() {
		r.start(&x, "")
		if f.Request(&x) != filter.Continue {
			b.Fatal("not Continue")
		}
	}
}
