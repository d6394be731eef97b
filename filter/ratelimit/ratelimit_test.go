package ratelimit

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// t0 is an arbitrary unix-nanosecond start for the injected clock.
const t0 = int64(1_700_000_000_000_000_000)

// mustBuild parses inst (lim's definition) and builds the filter.
func mustBuild(t testing.TB, inst string) *Filter {
	t.Helper()
	m, err := parse(t, inst)
	if err != nil {
		t.Fatal(err)
	}
	f, err := filter.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	return f.(*Filter)
}

// request is a parsed request head; its views point into a buffer that
// lives as long as the test.
func request(t testing.TB, head string) *http1.Request {
	t.Helper()
	r := &http1.Request{}
	if _, err := http1.ParseRequest([]byte(head), r, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

// exchange resets x for one request from ip at now.
func exchange(x *filter.Exchange, r *http1.Request, ip string, now int64) *filter.Exchange {
	x.Reset(nil)
	x.Req = r
	x.ClientIP = netip.MustParseAddr(ip)
	x.Route = "r"
	x.Now = now
	return x
}

// run runs f through a chain (which renders the rate-limit headers) and
// returns the verdict and the response header block.
func run(f *Filter, x *filter.Exchange) (filter.Verdict, string) {
	v, _ := filter.NewChain(f).Run(x, 0)
	return v, string(x.ResponseHeaders())
}

func TestRequestVerdictsAndHeaders(t *testing.T) {
	f := mustBuild(t, "  lim: {type: rate_limit, key: ip, rate: 2, per: 10s}\n")
	r := request(t, "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
	x := &filter.Exchange{}

	steps := []struct {
		name    string
		at      time.Duration
		verdict filter.Verdict
		headers string
	}{
		// A full bucket of 2: limit 2, one left, full again in 5s.
		{"first", 0, filter.Continue,
			"RateLimit-Limit: 2\r\nRateLimit-Remaining: 1\r\nRateLimit-Reset: 5\r\n" +
				"X-RateLimit-Limit: 2\r\nX-RateLimit-Remaining: 1\r\nX-RateLimit-Reset: 5\r\n"},
		{"second", 0, filter.Continue,
			"RateLimit-Limit: 2\r\nRateLimit-Remaining: 0\r\nRateLimit-Reset: 10\r\n" +
				"X-RateLimit-Limit: 2\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 10\r\n"},
		// Empty: 429, the next token in 5s.
		{"third", 0, filter.Respond,
			"Retry-After: 5\r\n" +
				"RateLimit-Limit: 2\r\nRateLimit-Remaining: 0\r\nRateLimit-Reset: 10\r\n" +
				"X-RateLimit-Limit: 2\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 10\r\n"},
		// 4.5s later: still 0.5s to wait, rounded up to 1.
		{"almost", 4500 * time.Millisecond, filter.Respond,
			"Retry-After: 1\r\n" +
				"RateLimit-Limit: 2\r\nRateLimit-Remaining: 0\r\nRateLimit-Reset: 6\r\n" +
				"X-RateLimit-Limit: 2\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 6\r\n"},
		{"refilled", 5 * time.Second, filter.Continue,
			"RateLimit-Limit: 2\r\nRateLimit-Remaining: 0\r\nRateLimit-Reset: 10\r\n" +
				"X-RateLimit-Limit: 2\r\nX-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 10\r\n"},
	}
	for _, st := range steps {
		v, h := run(f, exchange(x, r, "192.0.2.1", t0+int64(st.at)))
		if v != st.verdict || h != st.headers {
			t.Fatalf("%s: verdict %d, headers\n%s\nwant %d,\n%s", st.name, v, h, st.verdict, st.headers)
		}
		if v == filter.Respond && (x.Status != 429 || x.Message != "rate limit exceeded") {
			t.Fatalf("%s: status %d %q", st.name, x.Status, x.Message)
		}
	}
}

func TestHeadersOff(t *testing.T) {
	f := mustBuild(t, "  lim: {type: rate_limit, rate: 1, per: 1m, headers: false}\n")
	r := request(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	x := &filter.Exchange{}
	if v, h := run(f, exchange(x, r, "192.0.2.1", t0)); v != filter.Continue || h != "" {
		t.Fatalf("admitted: verdict %d, headers %q", v, h)
	}
	// Retry-After is part of the 429, not of the informational headers.
	if v, h := run(f, exchange(x, r, "192.0.2.1", t0)); v != filter.Respond || h != "Retry-After: 60\r\n" {
		t.Fatalf("rejected: verdict %d, headers %q", v, h)
	}
}

// admit reports whether f admits one request described by set.
func admit(f *Filter, r *http1.Request, set func(x *filter.Exchange)) bool {
	x := exchange(&filter.Exchange{}, r, "192.0.2.1", t0)
	set(x)
	return f.Request(x) == filter.Continue
}

func TestKeys(t *testing.T) {
	plain := request(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	tenantA := request(t, "GET / HTTP/1.1\r\nHost: a\r\nx-tenant: a\r\n\r\n")
	tenantB := request(t, "GET / HTTP/1.1\r\nHost: a\r\nX-Tenant: b\r\n\r\n")
	tenantEmpty := request(t, "GET / HTTP/1.1\r\nHost: a\r\nX-Tenant:\r\n\r\n")
	ip := func(a string) func(*filter.Exchange) {
		return func(x *filter.Exchange) { x.ClientIP = netip.MustParseAddr(a) }
	}
	cases := []struct {
		name string
		key  string
		// first uses the single token; second then gets shares=true if it
		// drew from the same bucket (rejected), false if from its own.
		first, second func(*filter.Exchange)
		r1, r2        *http1.Request
		shares        bool
	}{
		{"ip: same client", "ip", ip("192.0.2.1"), ip("192.0.2.1"), plain, plain, true},
		{"ip: other client", "ip", ip("192.0.2.1"), ip("192.0.2.2"), plain, plain, false},
		{"ip: IPv4 and its IPv6-mapped form", "ip", ip("192.0.2.1"), ip("::ffff:192.0.2.1"), plain, plain, true},
		{"ip: IPv6 clients", "ip", ip("2001:db8::1"), ip("2001:db8::2"), plain, plain, false},
		{"route: every client of a route", "route", ip("192.0.2.1"), ip("192.0.2.2"), plain, plain, true},
		{"route: other route", "route", func(x *filter.Exchange) { x.Route = "a" }, func(x *filter.Exchange) { x.Route = "b" }, plain, plain, false},
		{"consumer: same consumer, other clients", "consumer",
			func(x *filter.Exchange) { x.Consumer = []byte("c1") },
			func(x *filter.Exchange) { x.Consumer = []byte("c1"); x.ClientIP = netip.MustParseAddr("192.0.2.9") },
			plain, plain, true},
		{"consumer: other consumer, same client", "consumer",
			func(x *filter.Exchange) { x.Consumer = []byte("c1") }, func(x *filter.Exchange) { x.Consumer = []byte("c2") },
			plain, plain, false},
		{"consumer: anonymous falls back to the client", "consumer", ip("192.0.2.1"), ip("192.0.2.1"), plain, plain, true},
		{"consumer: anonymous clients apart", "consumer", ip("192.0.2.1"), ip("192.0.2.2"), plain, plain, false},
		{"consumer: a consumer is not its client", "consumer",
			func(x *filter.Exchange) { x.Consumer = []byte("c1") }, ip("192.0.2.1"), plain, plain, false},
		{"user: same subject", "user",
			func(x *filter.Exchange) { x.Subject = []byte("alice") },
			func(x *filter.Exchange) { x.Subject = []byte("alice"); x.ClientIP = netip.MustParseAddr("192.0.2.9") },
			plain, plain, true},
		{"user: anonymous falls back to the client", "user", ip("192.0.2.1"), ip("192.0.2.1"), plain, plain, true},
		{"header: same value, other clients", "header:X-Tenant", ip("192.0.2.1"), ip("192.0.2.2"), tenantA, tenantA, true},
		{"header: other value", "header:X-Tenant", ip("192.0.2.1"), ip("192.0.2.1"), tenantA, tenantB, false},
		{"header: missing falls back to the client", "header:X-Tenant", ip("192.0.2.1"), ip("192.0.2.1"), plain, plain, true},
		{"header: missing, other clients", "header:X-Tenant", ip("192.0.2.1"), ip("192.0.2.2"), plain, plain, false},
		{"header: empty counts as missing", "header:X-Tenant", ip("192.0.2.1"), ip("192.0.2.2"), tenantEmpty, tenantEmpty, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustBuild(t, "  lim: {type: rate_limit, key: \""+tc.key+"\", rate: 1, per: 1h}\n")
			if !admit(f, tc.r1, tc.first) {
				t.Fatal("first request rejected")
			}
			if got := !admit(f, tc.r2, tc.second); got != tc.shares {
				t.Fatalf("second request shares the first's bucket: %v, want %v", got, tc.shares)
			}
		})
	}
}

func TestKindsNeverShareKeys(t *testing.T) {
	// One filter's seeds, every kind keyed by the same text "x": all keys
	// differ, and none is the client's address key.
	f := mustBuild(t, "  lim: {type: rate_limit, rate: 1}\n")
	r := request(t, "GET / HTTP/1.1\r\nHost: a\r\nX: x\r\n\r\n")
	x := exchange(&filter.Exchange{}, r, "192.0.2.1", t0)
	x.Route, x.Consumer, x.Subject = "x", []byte("x"), []byte("x")
	f.header = "X"
	seen := map[uint64]Kind{}
	for k := range kinds {
		f.kind = k
		key := f.key(x)
		if prev, dup := seen[key]; dup {
			t.Fatalf("kinds %d and %d share key %#x", prev, k, key)
		}
		seen[key] = k
	}
}

func TestRequestDoesNotAllocate(t *testing.T) {
	r := request(t, "GET / HTTP/1.1\r\nHost: a\r\nX-Tenant: t1\r\n\r\n")
	for _, key := range []string{"ip", "route", "consumer", "user", "header:X-Tenant"} {
		t.Run(key, func(t *testing.T) {
			// rate 1 per hour: after the first request every call is a 429,
			// the path with the most work (Retry-After, all headers).
			f := mustBuild(t, "  lim: {type: rate_limit, key: \""+key+"\", rate: 1, per: 1h}\n")
			chain := filter.NewChain(f)
			x := &filter.Exchange{}
			now := t0
			consumer, subject := []byte("c"), []byte("s")
			step := func() {
				now += 1000
				exchange(x, r, "2001:db8::7", now)
				x.Consumer, x.Subject = consumer, subject
				chain.Run(x, 0)
			}
			step() // grow the header buffer once
			if allocs := testing.AllocsPerRun(1000, step); allocs != 0 {
				t.Fatalf("%.1f allocations per request", allocs)
			}
			if !strings.Contains(string(x.ResponseHeaders()), "Retry-After: 3600") {
				t.Fatalf("headers %q", x.ResponseHeaders())
			}
		})
	}
}

func TestBuildNeedsDecodedSettings(t *testing.T) {
	// A middleware this package did not decode (built in Go, say).
	_, err := build(&config.Middleware{Name: "lim", Type: "rate_limit"})
	if !errors.Is(err, errSettings) {
		t.Fatalf("got %v", err)
	}
}
