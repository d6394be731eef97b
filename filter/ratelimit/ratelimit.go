// Package ratelimit is the `type: rate_limit` middleware: a token bucket per
// client address, route, consumer, user or header value (see limiter).
//
//	middleware:
//	  per_ip: {type: rate_limit, key: ip, rate: 100, per: 1s, burst: 200}
//
// An admitted request goes on and is told its standing in RateLimit-Limit,
// -Remaining and -Reset (and the X-RateLimit-* twins) unless `headers: false`;
// the chain renders the most restrictive limit of the route. A rejected one
// gets 429 {"error":"rate limit exceeded"} with the same headers and
// Retry-After, the whole seconds until a request would be admitted (at
// least 1).
//
// RateLimit-Limit is the bucket size (burst): the quota that Remaining
// counts down from and that Reset refers to (seconds until the bucket is
// full again, rounded up). With the default burst it equals rate, the
// requests per `per`.
//
// `key: consumer`, `key: user` and `key: header:NAME` fall back to the
// client address when the request has no consumer (no api_key filter ran
// before, or it let an anonymous request through), no authenticated
// subject, or no such header (or an empty one): anonymous traffic is then
// limited per client rather than sharing one bucket. A header's value is
// whatever the client sends, so a client can pick a fresh bucket with each
// value: key on headers that a trusted hop sets, or add an ip limit too. The
// client address is the one the engine resolved (trusted proxies applied).
// IPv4 and IPv4-mapped IPv6 addresses share a bucket; each IPv6 address has
// its own.
//
// Each instance owns one limiter, shared by every route that lists it: a
// client's requests on all those routes draw from one bucket. Buckets are
// kept in memory fixed at load (max_keys × 16 bytes); a reload that leaves
// the instance's settings unchanged keeps the limiter, buckets and all
// (pipeline.BuildFrom), and a changed one starts full.
package ratelimit

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/limiter"
)

func init() {
	filter.Register(filter.Type{Name: "rate_limit", Decode: decode, Build: build})
}

// Filter is a built rate_limit instance. It is immutable apart from the
// limiter's buckets, so every loop may use it at once.
type Filter struct {
	lim     *limiter.Limiter
	kind    Kind
	header  string // for KindHeader
	headers bool
	// seeds make each kind's keys disjoint (route "x" and consumer "x"
	// never share a bucket) and unpredictable, so nobody can pick a client
	// address whose key is another client's.
	seeds [kinds]uint64
}

// New builds a filter from decoded settings.
func New(s *Settings) (*Filter, error) {
	lim, err := limiter.New(s.limiterConfig())
	if err != nil {
		return nil, err
	}
	f := &Filter{lim: lim, kind: s.Kind, header: s.Header, headers: s.Headers}
	for i := range f.seeds {
		f.seeds[i] = rand.Uint64() // ChaCha8, seeded from the OS
	}
	return f, nil
}

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	return New(s)
}

// Gate marks the filter as one that refuses requests (an exhausted bucket is refused).
func (*Filter) Gate() {}

// Request admits or rejects x at x.Now (the current time when x.Now is 0).
// Any loop; lock-free, no allocation.
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	now := x.Now
	if now == 0 {
		now = time.Now().UnixNano()
	}
	d := f.lim.Allow(f.key(x), now)
	x.RateLimit.Offer(d.Limit, d.Remaining, ceilSeconds(d.Reset), f.headers)
	if d.Allowed {
		return filter.Continue
	}
	x.AddResponseHeaderInt("Retry-After", max(ceilSeconds(d.RetryAfter), 1))
	return x.Reject(429, "rate limit exceeded")
}

// key hashes the request's scope, seeded by kind.
func (f *Filter) key(x *filter.Exchange) uint64 {
	switch f.kind {
	case KindRoute:
		return mix(xxhash.Sum64String(x.Route) ^ f.seeds[KindRoute])
	case KindConsumer:
		if len(x.Consumer) > 0 {
			return mix(xxhash.Sum64(x.Consumer) ^ f.seeds[KindConsumer])
		}
	case KindUser:
		if len(x.Subject) > 0 {
			return mix(xxhash.Sum64(x.Subject) ^ f.seeds[KindUser])
		}
	case KindHeader:
		if x.Req != nil {
			if v := x.Req.Header(f.header); len(v) > 0 {
				return mix(xxhash.Sum64(v) ^ f.seeds[KindHeader])
			}
		}
	}
	return f.ipKey(x)
}

// ipKey hashes the client address. A keyed two-round mix rather than
// xxhash: unseeded xxhash is invertible, so someone holding a /64 could
// compute an address of theirs whose key is a chosen victim's.
func (f *Filter) ipKey(x *filter.Exchange) uint64 {
	a := x.ClientIP.As16()
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	return mix(mix(hi^f.seeds[KindIP]) ^ lo)
}

// mix is a 64-bit finalizer (MurmurHash3's fmix64): a bijection that
// spreads every input bit over the output.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// ceilSeconds rounds d up to whole seconds.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
