package admin

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/sluicehq/sluice/observe"
)

// The dashboard's data (GET /dashboard/data) is one JSON document built
// at most once per liveInterval and handed to every viewer as the same
// bytes, so ten open dashboards cost what one does: a registry read per
// interval, plus serving a cached body. Rates and latency Quantiles are
// over the readings of the last liveWindow (a few seconds), so a number
// on screen is neither a one-second spike nor an average since start.

const (
	liveInterval = time.Second
	liveWindow   = 10 * time.Second
)

// live caches the dashboard document. Any goroutine.
type live struct {
	interval time.Duration // liveInterval; tests shorten it
	builds   int           // documents built so far (tests count them)

	mu      sync.Mutex
	samples []*observe.Sample // oldest first; the last is the newest
	body    []byte
	at      time.Time
}

// get returns the current document, rebuilding it when older than
// liveInterval.
func (l *live) get(s *Server) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.interval == 0 {
		l.interval = liveInterval
	}
	if l.body != nil && now.Sub(l.at) < l.interval {
		return l.body
	}
	l.builds++
	cur := observe.TakeSample()
	// Keep the readings within the window. After a pause longer than
	// that (nobody looking), the first reading has no rates: a rate
	// averaged over the pause would pass for the current one.
	keep := l.samples[:0]
	for _, old := range l.samples {
		if cur.At.Sub(old.At) <= liveWindow {
			keep = append(keep, old)
		}
	}
	l.samples = append(keep, cur)
	var base *observe.Sample
	if len(l.samples) > 1 {
		base = l.samples[0]
	}
	b, err := json.Marshal(s.dashboard(cur, base))
	if err != nil {
		b = []byte(`{"error":"internal error: cannot encode the dashboard"}`)
	}
	l.body, l.at = b, now
	return b
}

// invalidate makes the next get rebuild (after a reload from the page,
// whose result the page shows at once).
func (l *live) invalidate() {
	l.mu.Lock()
	l.body = nil
	l.mu.Unlock()
}

// Dashboard is the document of GET /dashboard/data. Fields are added,
// never renamed: `sluice status` and `sluice routes` decode it into this
// type, and scripts may read it too.
type Dashboard struct {
	GeneratedAt time.Time `json:"generated_at"`
	// WindowSeconds is the span rates and Quantiles are over; 0 on the
	// first reading, when there is nothing to compare with yet.
	WindowSeconds float64       `json:"window_seconds"`
	Config        DashConfig    `json:"config"`
	LastReload    *DashReload   `json:"last_reload"` // null before any reload
	Routes        []DashRoute   `json:"routes"`
	Clusters      []DashCluster `json:"clusters"`
}

// DashConfig is the running config: the /config summary and a version.
type DashConfig struct {
	summary
	// Version counts installed configs: 1 at start, +1 per reload that
	// applied.
	Version uint64 `json:"version"`
}

// DashReload is how the last reload attempt ended.
type DashReload struct {
	At      time.Time   `json:"at"`
	Trigger string      `json:"trigger"` // SIGHUP, POST /reload, file change
	OK      bool        `json:"ok"`
	Error   string      `json:"error,omitempty"`
	Errors  []errorItem `json:"errors,omitempty"`
}

// DashRoute is one route with its traffic. Rates and quantiles are null
// when the window saw no request (or there is no window yet).
type DashRoute struct {
	Name     string   `json:"name"`
	Path     string   `json:"path"`
	Methods  []string `json:"methods"`
	Cluster  string   `json:"cluster"`
	Requests float64  `json:"requests"` // since start
	RPS      *float64 `json:"rps"`
	// ErrorRate is the share of the window's requests answered 5xx or
	// not at all; ClientErrorRate the share answered 4xx.
	ErrorRate       *float64 `json:"error_rate"`
	ClientErrorRate *float64 `json:"client_error_rate"`
	// Latency Quantiles in milliseconds: the whole request, the
	// upstream's part and the gateway's own part.
	Total    Quantiles `json:"total_ms"`
	Upstream Quantiles `json:"upstream_ms"`
	Overhead Quantiles `json:"overhead_ms"`
	// RateLimited counts rate_limit rejections since start; its rate is
	// per second over the window.
	RateLimited     float64  `json:"rate_limited"`
	RateLimitedRate *float64 `json:"rate_limited_per_second"`
}

// Quantiles are the median and the 99th percentile, in milliseconds.
type Quantiles struct {
	P50 *float64 `json:"p50"`
	P99 *float64 `json:"p99"`
}

// DashCluster is a cluster of /clusters with its targets' connections.
type DashCluster struct {
	Name     string       `json:"name"`
	Balancer string       `json:"balancer"`
	Targets  []DashTarget `json:"targets"`
}

// DashTarget is a target of /clusters with its open connections.
type DashTarget struct {
	targetView
	IdleConnections   float64 `json:"idle_connections"`
	ActiveConnections float64 `json:"active_connections"`
}

// dashboard builds the document from the newest reading and the oldest
// one in the window (nil when there is none).
func (s *Server) dashboard(cur, base *observe.Sample) Dashboard {
	run := s.gw.Running()
	v := Dashboard{GeneratedAt: cur.At.UTC(), Config: DashConfig{summarize(run), run.Version}}
	if base != nil {
		v.WindowSeconds = cur.At.Sub(base.At).Seconds()
	}
	if rep := s.gw.LastReload(); rep != nil {
		rv := &DashReload{At: rep.At.UTC(), Trigger: rep.Trigger, OK: rep.Err == nil}
		if rep.Err != nil {
			rv.Error, rv.Errors = firstLine(rep.Err), errorItems(rep.Err)
		}
		v.LastReload = rv
	}
	for _, rt := range routeViews(run.Config) {
		v.Routes = append(v.Routes, routeOf(rt, cur, base, v.WindowSeconds))
	}
	for _, c := range clusterViews(run.Snapshot) {
		cl := DashCluster{Name: c.Name, Balancer: c.Balancer, Targets: []DashTarget{}}
		for _, t := range c.Targets {
			conns := cur.Targets[c.Name][t.Address]
			cl.Targets = append(cl.Targets, DashTarget{t, conns.Idle, conns.Active})
		}
		v.Clusters = append(v.Clusters, cl)
	}
	return v
}

func routeOf(rt routeView, cur, base *observe.Sample, window float64) DashRoute {
	r := DashRoute{Name: rt.Name, Path: rt.Match.Path, Methods: rt.Match.Methods, Cluster: rt.Cluster}
	now := cur.Routes[rt.Name]
	if now == nil {
		now = &observe.RouteSample{}
	}
	r.Requests, r.RateLimited = sum(now.Requests[:]), now.RateLimited
	if base == nil || window <= 0 {
		return r
	}
	was := base.Routes[rt.Name]
	if was == nil {
		was = &observe.RouteSample{}
	}
	n := r.Requests - sum(was.Requests[:])
	r.RPS = ptr(n / window)
	r.RateLimitedRate = ptr((now.RateLimited - was.RateLimited) / window)
	if n > 0 {
		failed := now.Requests[5] - was.Requests[5] + now.Requests[0] - was.Requests[0]
		r.ErrorRate = ptr(failed / n)
		r.ClientErrorRate = ptr((now.Requests[4] - was.Requests[4]) / n)
	}
	r.Total = quantilesOf(now.Total, was.Total)
	r.Upstream = quantilesOf(now.Upstream, was.Upstream)
	r.Overhead = quantilesOf(now.Overhead, was.Overhead)
	return r
}

func quantilesOf(h, prev observe.Histogram) Quantiles {
	var q Quantiles
	if v, ok := h.Quantile(prev, 0.5); ok {
		q.P50 = ptr(v * 1000)
	}
	if v, ok := h.Quantile(prev, 0.99); ok {
		q.P99 = ptr(v * 1000)
	}
	return q
}

func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

func ptr(f float64) *float64 { return &f }
