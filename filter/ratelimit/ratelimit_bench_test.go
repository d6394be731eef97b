package ratelimit

import (
	"net/netip"
	"testing"

	"github.com/sluicehq/sluice/filter"
)

// BenchmarkRequest is one rate_limit filter per key kind on one hot key,
// through a chain: Exchange reset, key hash, Allow and the six rate-limit
// headers rendered (Retry-After too on the half that is rejected: a
// request every 500ns against one token per µs).
func BenchmarkRequest(b *testing.B) {
	r := request(b, "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: bench\r\nX-Tenant: t1\r\n\r\n")
	for _, key := range []string{"ip", "route", "consumer", "header:X-Tenant"} {
		b.Run(key, func(b *testing.B) {
			f := mustBuild(b, "  lim: {type: rate_limit, key: \""+key+"\", rate: 1000000, burst: 100}\n")
			chain := filter.NewChain(f)
			x := &filter.Exchange{}
			now := t0
			consumer := []byte("consumer-1")
			ip := netip.MustParseAddr("2001:db8::7")
			b.ReportAllocs()
			for b.Loop() {
				now += 500
				x.Reset(nil)
				x.Req, x.ClientIP, x.Route, x.Now, x.Consumer = r, ip, "r", now, consumer
				chain.Run(x, 0)
			}
		})
	}
}

// BenchmarkRequestFilterOnly is the filter without the chain's header
// rendering: key hash (client address), Allow, Offer, and Retry-After on
// the rejected half.
func BenchmarkRequestFilterOnly(b *testing.B) {
	r := request(b, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	f := mustBuild(b, "  lim: {type: rate_limit, key: ip, rate: 1000000, burst: 100}\n")
	x := &filter.Exchange{}
	ip := netip.MustParseAddr("2001:db8::7")
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now += 500
		x.Reset(nil)
		x.Req, x.ClientIP, x.Now = r, ip, now
		f.Request(x)
	}
}
