package ratelimit

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/internal/redistest"
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

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScope compares a local limit with a cluster one synchronised
// through a private redis-server, in one run: the same filter call (key
// hash, Allow, Offer) on 1024 client addresses; the cluster one also
// counts each request in the pending table, while its syncer runs a round
// every 50 ms on another goroutine. Real time drives both (the syncer
// applies the cluster's debts at real time).
func BenchmarkScope(b *testing.B) {
	srv := redistest.Start(b)
	r := request(b, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	ips := make([]netip.Addr, 1024)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	for _, scope := range []string{"local", "cluster"} {
		b.Run(scope, func(b *testing.B) {
			text := "redis: {addresses: [\"" + srv.Addr + "\"]}\n" + base +
				"  lim: {type: rate_limit, key: ip, rate: 1000, burst: 100, scope: " + scope + "}\n"
			c, err := config.Parse("rl.yaml", []byte(text))
			if err != nil {
				b.Fatal(err)
			}
			ff, err := filter.Build(c.Middleware["lim"])
			if err != nil {
				b.Fatal(err)
			}
			f := ff.(*Filter)
			defer f.Close()
			x := &filter.Exchange{}
			b.ReportAllocs()
			i := 0
			cpu0 := processCPU()
			for b.Loop() {
				i++
				x.Reset(nil)
				x.Req, x.ClientIP = r, ips[i&1023]
				f.Request(x)
			}
			// CPU of the whole process (the syncer's rounds included) per
			// request: what "requests per CPU-second" divides by.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
