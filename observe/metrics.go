package observe

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// The gateway's metrics live on VictoriaMetrics' default set, which the
// admin listener serves at /metrics. Names are stable and listed in
// docs/METRICS.md. Labels are configured names (route, cluster, target
// address, middleware), never raw paths or client addresses, so their
// cardinality is bounded by the config. Every object the hot path touches
// is created once (per route or cluster, when a snapshot is built) and
// updated with atomics or a short mutex: no allocation per request. Every
// per-route series is created the first time it is updated (requestCounters,
// lazyHistogram, lazyCounter), so /metrics lists only what happened: a
// route that never took a request has no series, one that only answered
// GET 2xx has one request counter, not 48. The steady state is an atomic
// load before the update.

// Methods counted by name; anything else is "other".
var methodNames = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"}

// statusClasses are the status label values; index = status/100, with 0
// for requests that got no response (the client left first).
var statusClasses = [...]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

// Latency buckets, in seconds: requests and upstreams from 0.5ms to 30s;
// the gateway's own overhead from 10µs to 1s.
var (
	latencyBuckets  = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	overheadBuckets = []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .1, 1}
)

// requestCounters are the sluice_requests_total series of one route, by
// method and status class, each created the first time it is counted.
type requestCounters struct {
	route string // the route label, already quoted
	c     [len(methodNames)][len(statusClasses)]atomic.Pointer[metrics.Counter]
}

// inc counts one request. Any goroutine; allocates only the first time a
// (method, class) pair is seen (two loops racing there get the same
// counter from the set).
func (r *requestCounters) inc(method, class int) {
	p := &r.c[method][class]
	c := p.Load()
	if c == nil {
		m := methodNames[method]
		if r.route == `""` {
			m = "" // answered before routing: the method may not even parse
		}
		c = metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_requests_total{route=%s,method=%q,status=%q}`, r.route, m, statusClasses[class]))
		p.Store(c)
	}
	c.Inc()
}

// RouteMetrics are one route's request metrics.
type RouteMetrics struct {
	requests requestCounters
	total    lazyHistogram
	upstream lazyHistogram
	overhead lazyHistogram
	bytesIn  lazyCounter
	bytesOut lazyCounter
}

// NewRouteMetrics returns the metrics of the route called name; its series
// are created when first updated, and a route that survives a reload keeps
// them. Off the hot path (it allocates).
func NewRouteMetrics(name string) *RouteMetrics {
	q := strconv.Quote(name)
	return &RouteMetrics{
		requests: requestCounters{route: q},
		total:    lazyHistogram{name: fmt.Sprintf(`sluice_request_duration_seconds{route=%s}`, q), buckets: latencyBuckets},
		upstream: lazyHistogram{name: fmt.Sprintf(`sluice_upstream_duration_seconds{route=%s}`, q), buckets: latencyBuckets},
		overhead: lazyHistogram{name: fmt.Sprintf(`sluice_gateway_overhead_seconds{route=%s}`, q), buckets: overheadBuckets},
		bytesIn:  lazyCounter{name: fmt.Sprintf(`sluice_request_bytes_total{route=%s}`, q)},
		bytesOut: lazyCounter{name: fmt.Sprintf(`sluice_response_bytes_total{route=%s}`, q)},
	}
}

// Request records one finished request: its method and final status (0
// when the client got no response), the total time, the upstream's part
// (0 when no upstream answered) and the gateway's own part, and the bytes
// read from and written to the client. Any goroutine; no allocation once
// the route's series exist.
func (r *RouteMetrics) Request(method []byte, status int, total, upstream, overhead time.Duration, in, out int64) {
	class := status / 100
	if class < 0 || class >= len(statusClasses) {
		class = 0
	}
	r.requests.inc(methodIndex(method), class)
	r.total.get().Update(total.Seconds())
	if upstream > 0 {
		r.upstream.get().Update(upstream.Seconds())
	}
	r.overhead.get().Update(overhead.Seconds())
	r.bytesIn.get().AddInt64(in)
	r.bytesOut.get().AddInt64(out)
}

// lazyHistogram is a histogram series created on its first update.
type lazyHistogram struct {
	name    string
	buckets []float64
	h       atomic.Pointer[metrics.PrometheusHistogram]
}

// get returns the series, creating it the first time. Any goroutine; two
// loops racing here get the same series from the set.
func (l *lazyHistogram) get() *metrics.PrometheusHistogram {
	h := l.h.Load()
	if h == nil {
		h = metrics.GetOrCreatePrometheusHistogramExt(l.name, l.buckets)
		l.h.Store(h)
	}
	return h
}

// lazyCounter is a counter series created on its first update.
type lazyCounter struct {
	name string
	c    atomic.Pointer[metrics.Counter]
}

// get returns the series, creating it the first time. Any goroutine.
func (l *lazyCounter) get() *metrics.Counter {
	c := l.c.Load()
	if c == nil {
		c = metrics.GetOrCreateCounter(l.name)
		l.c.Store(c)
	}
	return c
}

func methodIndex(m []byte) int {
	for i, name := range methodNames[:len(methodNames)-1] {
		if string(m) == name {
			return i
		}
	}
	return len(methodNames) - 1
}

// ClusterMetrics are one cluster's upstream connection metrics.
type ClusterMetrics struct {
	Idle   *metrics.Gauge   // idle keep-alive connections, all loops
	Active *metrics.Gauge   // connections carrying a request
	Dials  *metrics.Counter // connections opened
	Reused *metrics.Counter // requests sent on a pooled connection
	Fresh  *metrics.Counter // requests sent on a connection dialed for them
}

// NewClusterMetrics returns the metrics of the cluster called name,
// creating them on first use. Off the hot path.
func NewClusterMetrics(name string) *ClusterMetrics {
	q := strconv.Quote(name)
	return &ClusterMetrics{
		Idle:   metrics.GetOrCreateGauge(fmt.Sprintf(`sluice_upstream_connections{cluster=%s,state="idle"}`, q), nil),
		Active: metrics.GetOrCreateGauge(fmt.Sprintf(`sluice_upstream_connections{cluster=%s,state="active"}`, q), nil),
		Dials:  metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_upstream_dials_total{cluster=%s}`, q)),
		Reused: metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_upstream_requests_total{cluster=%s,connection="reused"}`, q)),
		Fresh:  metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_upstream_requests_total{cluster=%s,connection="new"}`, q)),
	}
}

// TargetMetrics are one upstream target's connection gauges, so the
// dashboard shows open connections per target.
type TargetMetrics struct {
	Idle   *metrics.Gauge // idle keep-alive connections, all loops
	Active *metrics.Gauge // connections carrying a request
}

// NewTargetMetrics returns the gauges of target addr in cluster, creating
// them on first use (the first pool for the target). Off the hot path.
func NewTargetMetrics(cluster, addr string) *TargetMetrics {
	q, a := strconv.Quote(cluster), strconv.Quote(addr)
	return &TargetMetrics{
		Idle:   metrics.GetOrCreateGauge(fmt.Sprintf(`sluice_upstream_target_connections{cluster=%s,target=%s,state="idle"}`, q, a), nil),
		Active: metrics.GetOrCreateGauge(fmt.Sprintf(`sluice_upstream_target_connections{cluster=%s,target=%s,state="active"}`, q, a), nil),
	}
}

// Process-wide connection metrics.
var (
	ClientConnections = metrics.GetOrCreateGauge(`sluice_client_connections`, nil)
	ClientAccepted    = metrics.GetOrCreateCounter(`sluice_client_connections_accepted_total`)
	// Connections refused with a 503 at accept time by limits.max_connections
	// and limits.max_connections_per_ip (not counted as accepted).
	ClientRefusedMax   = metrics.GetOrCreateCounter(`sluice_client_connections_refused_total{reason="max_connections"}`)
	ClientRefusedPerIP = metrics.GetOrCreateCounter(`sluice_client_connections_refused_total{reason="per_ip"}`)
	// Connections accepted during a drain and answered 503 at once (gnet
	// cannot close the listener alone; see engine.Shutdown).
	ClientRefusedDraining = metrics.GetOrCreateCounter(`sluice_client_connections_refused_total{reason="draining"}`)
	// Requests answered 503 because a new upstream connection would have
	// passed the descriptor budget (clients + upstream connections).
	UpstreamRefusedFD = metrics.GetOrCreateCounter(`sluice_upstream_connections_refused_total{reason="descriptors"}`)
	// Parse failures and other requests rejected before a route matched
	// (400, 404, 405, 408, 413, 414, 431) count here, by status class,
	// with route="" and method="".
	unrouted = requestCounters{route: `""`}
)

// Unrouted counts a request answered before it had a route.
// Any goroutine; no allocation.
func Unrouted(status int) {
	class := status / 100
	if class < 0 || class >= len(statusClasses) {
		class = 0
	}
	unrouted.inc(0, class)
}

// Upstream health metrics are updated on transitions and checks, which are
// rare next to requests; they create their series on first use.

// BreakerState records a target's breaker moving to state (0 closed, 1
// half-open, 2 open; name is its label value). Any goroutine.
func BreakerState(cluster, target string, state int, name string) {
	q, t := strconv.Quote(cluster), strconv.Quote(target)
	metrics.GetOrCreateGauge(fmt.Sprintf(`sluice_breaker_state{cluster=%s,target=%s}`, q, t), nil).Set(float64(state))
	metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_breaker_transitions_total{cluster=%s,target=%s,to=%q}`, q, t, name)).Inc()
}

// HealthCheck counts one active health check. Any goroutine.
func HealthCheck(cluster, target string, ok bool) {
	result := "fail"
	if ok {
		result = "pass"
	}
	metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_health_checks_total{cluster=%q,target=%q,result=%q}`, cluster, target, result)).Inc()
}

// Ejection counts a passive ejection. Any goroutine.
func Ejection(cluster, target string) {
	metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_upstream_ejections_total{cluster=%q,target=%q}`, cluster, target)).Inc()
}
