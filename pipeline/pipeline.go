// Package pipeline compiles a validated config into the immutable snapshot the
// event loops serve from: the router, the routes and their clusters, and the
// protocol limits. A reload builds a new snapshot and swaps it atomically;
// requests in flight keep the snapshot they started with.
//
// A reload keeps state where the config keeps the thing it belongs to
// (BuildFrom). A cluster whose settings are unchanged (targets, weights,
// balancer, hash_on, timeouts, pool, breaker, health, retries; where they
// are written in the file does not matter) is the same *upstream.Cluster
// in the new snapshot, with the same targets: the engine's keep-alive
// pools (kept per *upstream.Target), breakers, passive and active health,
// in-flight counts, the round-robin cursor, the retry budget and the
// health-check goroutines all carry on. Any change to a cluster rebuilds
// the whole cluster, fresh: targets that stay get new pools and closed
// breakers too. A middleware instance whose type and settings are
// unchanged is the same filter: a rate limiter keeps its buckets, a jwt
// filter its token cache and JWKS key set. jwt and api_key instances are
// also rebuilt when what they read at build time changed (the secret from
// the environment or a file, the public key file, the consumers file:
// compared by a keyed hash of the content). audit_log instances, and
// types this package does not know, are always rebuilt: a reload reopens
// log files, so rotation works; so does the access log. The router,
// routes, limits, timeouts and trusted proxies are always rebuilt: they
// hold no state. A reload that fails leaves the serving snapshot as it was.
package pipeline

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/breaker"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/upstream"
)

// Snapshot is everything a request needs from the configuration. It is
// immutable and shared by all loops.
//
// Clusters and filters may be shared by several snapshots (see BuildFrom):
// each snapshot holds a reference on every cluster and filter it uses,
// Close drops them, and the last snapshot to drop one stops its background
// work (health checks, JWKS refresh, log writers). So retiring the old
// snapshot never stops what its successor carried over, discarding a
// snapshot that was built but never served leaves its predecessor intact,
// and snapshots may be closed in any order. A cluster or filter that has
// been stopped is never carried over again: BuildFrom from a closed
// snapshot builds everything fresh. Start is safe on carried clusters:
// health checks start once per cluster.
type Snapshot struct {
	Router *router.Router
	// PathPolicy normalises every request path before Router.Match; the
	// result is also what is forwarded (config `paths:`).
	PathPolicy router.Policy
	Routes     []*Route
	Clusters   map[string]*upstream.Cluster

	Limits        http1.Limits
	MaxBodyBytes  int64         // 0 = unlimited
	HeaderTimeout time.Duration // slowloris guard: first byte to end of head
	// RequestBuffer is the largest request body read whole before an
	// upstream connection is taken; 0 = off. BodyTimeout bounds that read.
	RequestBuffer int64
	BodyTimeout   time.Duration
	IdleTimeout   time.Duration // keep-alive idle between requests
	// MaxConnections caps the open client connections, all loops together;
	// 0 = no cap. MaxConnectionsPerIP caps them per peer address; 0 = off.
	// The engine checks both when it accepts a connection, so a reload
	// applies them to the next accept.
	MaxConnections      int
	MaxConnectionsPerIP int
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	// AccessLog receives one record per request; nil when off.
	AccessLog *observe.AccessLog
	// TrustRequestID keeps a client's well-formed X-Request-ID.
	TrustRequestID bool

	// closers are what the snapshot owns alone (the access log); Close
	// stops them.
	closers []filter.Closer
	// clusterSrc and filterSrc hold the snapshot's references on its
	// clusters and middleware instances, with what each was built from,
	// for BuildFrom to compare and Close to release.
	clusterSrc map[string]*clusterEntry
	filterSrc  map[string]*filterEntry
	closed     atomic.Bool
}

// Route is one configured route, compiled.
type Route struct {
	Name         string
	Cluster      *upstream.Cluster
	StripPrefix  []byte                // removed from the normalised path before forwarding
	PreserveHost bool                  // forward the client's Host instead of the target's
	Chain        *filter.Chain         // the route's middleware, in order; nil when none
	Metrics      *observe.RouteMetrics // nil when metrics are off
}

// Build compiles cfg into a snapshot that shares nothing with another:
// BuildFrom(cfg, nil).
func Build(cfg *config.Config) (*Snapshot, error) { return BuildFrom(cfg, nil) }

// BuildFrom compiles cfg, carrying over from prev (the serving snapshot;
// nil for none) every cluster and middleware instance that cfg leaves
// unchanged, with its live state: see Snapshot for what is carried and who
// closes it. prev is only read (and its carried objects gain a holder), so
// requests running on it are unaffected, and it may be closed before or
// after the result. cfg must come from config.Parse (validated); errors
// here are the router's, named with the route's position. On error nothing
// built is left running and prev is as it was.
func BuildFrom(cfg *config.Config, prev *Snapshot) (_ *Snapshot, err error) {
	s := &Snapshot{
		Router:     router.New(),
		Clusters:   make(map[string]*upstream.Cluster, len(cfg.Clusters)),
		clusterSrc: make(map[string]*clusterEntry, len(cfg.Clusters)),
		filterSrc:  make(map[string]*filterEntry, len(cfg.Middleware)),
		Limits: http1.Limits{
			MaxHeaderBytes: cfg.Limits.MaxHeaderBytes.Int(),
			MaxURIBytes:    cfg.Limits.MaxURIBytes.Int(),
		},
		MaxBodyBytes:  int64(cfg.Limits.MaxBodyBytes),
		HeaderTimeout: cfg.Timeouts.ClientHeader.D(),
		RequestBuffer: int64(cfg.Limits.RequestBufferBytes),
		BodyTimeout:   cfg.Timeouts.ClientBody.D(),
		IdleTimeout:   cfg.Timeouts.ClientIdle.D(),

		MaxConnections:      cfg.Limits.MaxConnections,
		MaxConnectionsPerIP: cfg.Limits.MaxConnectionsPerIP,

		TrustRequestID: cfg.RequestID != "regenerate",
	}
	defer func() {
		if err != nil {
			s.Close() // releases what was carried over, closes what was built
		}
	}()
	for _, name := range slices.Sorted(maps.Keys(cfg.Clusters)) {
		c, err := s.cluster(name, cfg.Clusters[name], prev)
		if err != nil {
			return nil, err
		}
		s.Clusters[name] = c
	}
	if s.PathPolicy, err = pathPolicy(cfg.Paths); err != nil {
		return nil, err
	}
	for _, p := range cfg.TrustedProxies {
		pfx, err := config.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %w", err)
		}
		s.TrustedProxies = append(s.TrustedProxies, pfx)
	}
	if al := cfg.AccessLog; al.Enabled {
		path := al.Path
		if path != "-" && !filepath.IsAbs(path) && cfg.File != "" {
			path = filepath.Join(filepath.Dir(cfg.File), path)
		}
		a, err := observe.OpenAccessLog(path, al.Format, al.Sample)
		if err != nil {
			return nil, fmt.Errorf("%s: access_log: %w", cfg.File, err)
		}
		s.AccessLog = a
		s.closers = append(s.closers, a)
	}
	filters, err := s.buildFilters(cfg, prev)
	if err != nil {
		return nil, err
	}
	for i, rc := range cfg.Routes {
		r := &Route{
			Name:         rc.Name,
			Cluster:      s.Clusters[rc.Cluster],
			PreserveHost: rc.PreserveHost,
		}
		if rc.MetricsOn(cfg.Metrics) {
			r.Metrics = observe.NewRouteMetrics(rc.Name)
		}
		if len(rc.Middleware) > 0 {
			fs := make([]filter.Filter, len(rc.Middleware))
			verified := false // an authentication filter ran before this one
			for j, name := range rc.Middleware {
				fs[j] = filters[name]
				if p, ok := fs[j].(filter.ClaimsProvider); ok && p.ProvidesClaims() {
					verified = true
				}
				if n, ok := fs[j].(filter.ClaimsChecker); ok && n.NeedsClaims() && !verified {
					return nil, fmt.Errorf("%s: routes[%d] %q: middleware %q checks claims, so a jwt middleware must come before it in the list", rc.Pos, i, rc.Name, name)
				}
				if pr, ok := fs[j].(filter.ParamsReader); ok {
					if p := undeclaredParam(pr.PathParams(), rc.Match.Path); p != "" {
						return nil, fmt.Errorf("%s: routes[%d] %q: middleware %q reads the path parameter %q, which match.path %q does not declare", rc.Pos, i, rc.Name, name, p, rc.Match.Path)
					}
				}
			}
			r.Chain = filter.NewChain(fs...)
			for j, name := range rc.Middleware {
				r.Chain.Label(j, name, cfg.Middleware[name].Type)
			}
			r.Chain.LabelRoute(rc.Name)
		}
		if rc.StripPrefix != "" {
			r.StripPrefix = []byte(rc.StripPrefix)
		}
		spec := router.Spec{
			Host:    rc.Match.Host,
			Path:    rc.Match.Path,
			Methods: rc.Match.Methods,
			Headers: rc.Match.Headers,
			Value:   i,

			AcceptVersion: rc.Match.AcceptVersion,

			MethodFallthrough: rc.Match.MethodFallthrough,
		}
		if err := s.Router.Add(spec); err != nil {
			return nil, fmt.Errorf("%s: routes[%d] %q: %w", rc.Pos, i, rc.Name, err)
		}
		s.Routes = append(s.Routes, r)
	}
	return s, nil
}

// pathPolicy compiles the `paths:` section; config has checked the words,
// so an error only catches a Config built in Go without Validate.
func pathPolicy(p config.Paths) (router.Policy, error) {
	var pol router.Policy
	var err error
	if pol.EscapedSlashes, err = router.ParseEscapedSlashes(p.EscapedSlashes); err != nil {
		return pol, fmt.Errorf("paths.escaped_slashes: %w", err)
	}
	if pol.PathParams, err = router.ParsePathParams(p.PathParams); err != nil {
		return pol, fmt.Errorf("paths.path_params: %w", err)
	}
	return pol, nil
}

// breakerMetric publishes a breaker transition (docs/METRICS.md).
func breakerMetric(t *upstream.Target, _, to breaker.State) {
	switch to {
	case breaker.Closed:
		observe.BreakerState(t.Cluster.Name, t.Addr, 0, "closed")
	case breaker.HalfOpen:
		observe.BreakerState(t.Cluster.Name, t.Addr, 1, "half_open")
	case breaker.Open:
		observe.BreakerState(t.Cluster.Name, t.Addr, 2, "open")
	}
}

// buildCluster builds a fresh cluster, with new targets, from cc.
func buildCluster(name string, cc *config.Cluster) (*upstream.Cluster, error) {
	targets := make([]*upstream.Target, len(cc.Targets))
	for i, t := range cc.Targets {
		targets[i] = &upstream.Target{Addr: t.Addr, Host: []byte(t.Host), Weight: t.Weight}
	}
	// Traffic control. config has checked every value; these errors
	// only catch a Config built in Go without Validate.
	tc := upstream.Config{FailureStatuses: cc.Breaker.FailureStatuses}
	bal := cc.Balancer
	if bal == "" {
		bal = "round_robin"
	}
	var known bool
	if tc.Balancer, known = upstream.ParseBalancer(bal); !known {
		return nil, fmt.Errorf("%s: clusters.%s.balancer: unknown balancer %q", cc.Pos, name, cc.Balancer)
	}
	if tc.Balancer == upstream.ConsistentHash {
		h, err := upstream.ParseHashOn(cc.HashOn)
		if err != nil {
			return nil, fmt.Errorf("%s: clusters.%s.hash_on: %w", cc.Pos, name, err)
		}
		tc.HashOn = h
	}
	if b := cc.Breaker; b.Enabled {
		tc.Breaker = &upstream.BreakerConfig{
			ConsecutiveFailures: b.ConsecutiveFailures,
			FailureRatio:        b.FailureRatio,
			MinRequests:         b.MinRequests,
			Window:              b.Window.D(),
			RecoveryTimeout:     b.RecoveryTimeout.D(),
			HalfOpenProbes:      b.HalfOpenProbes,
		}
	}
	h := cc.Health
	tc.Health = upstream.Health{
		Path: h.Path, Interval: h.Interval.D(), Timeout: h.Timeout.D(),
		HealthyAfter: h.HealthyAfter, UnhealthyAfter: h.UnhealthyAfter, ExpectStatus: h.ExpectStatus,
		EjectAfter: h.EjectAfter, EjectFor: h.EjectFor.D(),
	}
	tc.Retry = upstream.Retry{Attempts: cc.Retries.Attempts, Budget: cc.Retries.Budget, MinPerSecond: cc.Retries.MinPerSecond}
	for _, on := range cc.Retries.On {
		cause, err := upstream.ParseRetryCause(on)
		if err != nil {
			return nil, fmt.Errorf("%s: clusters.%s.retries.on: %w", cc.Pos, name, err)
		}
		tc.Retry.On |= cause
	}
	tc.OnTransition = breakerMetric
	tc.OnHealthCheck = func(t *upstream.Target, ok bool) { observe.HealthCheck(name, t.Addr, ok) }
	tc.OnEject = func(t *upstream.Target) { observe.Ejection(name, t.Addr) }
	// Health-check goroutines are not started here: whoever installs the
	// snapshot calls StartHealthChecks, and Close on the one it retires.
	c := upstream.New(name, targets, tc)
	c.ConnectTimeout = cc.Timeouts.Connect.D()
	c.ResponseTimeout = cc.Timeouts.Response.D()
	c.MaxIdle = cc.Pool.MaxIdlePerTarget
	c.IdleTimeout = cc.Pool.IdleTimeout.D()
	return c, nil
}

// Start starts the snapshot's background work that only a serving
// snapshot needs: active health checks. (Filters start theirs in Build.)
func (s *Snapshot) Start() {
	for _, c := range s.Clusters {
		c.StartHealthChecks()
	}
}

// Close stops what the snapshot runs in the background (health checks,
// JWKS refreshers, log writers), except what a snapshot built from it
// still holds (see Snapshot). Call it once no request uses the snapshot
// any more; a filter used after Close degrades (cached keys only, log
// lines dropped) rather than failing. Idempotent; any goroutine.
func (s *Snapshot) Close() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	for _, e := range s.clusterSrc {
		e.ref.release()
	}
	for _, e := range s.filterSrc {
		e.ref.release()
	}
	for _, c := range s.closers {
		_ = c.Close()
	}
}
