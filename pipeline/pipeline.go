// Package pipeline compiles a validated config into the immutable snapshot the
// event loops serve from: the router, the routes and their clusters, and the
// protocol limits. A reload builds a new snapshot and swaps it atomically;
// requests in flight keep the snapshot they started with.
package pipeline

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	_ "github.com/sluicehq/sluice/filter/builtin" // every shipped middleware type
	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/upstream"
)

// Snapshot is everything a request needs from the configuration. It is
// immutable and shared by all loops.
type Snapshot struct {
	Router   *router.Router
	Routes   []*Route
	Clusters map[string]*upstream.Cluster

	Limits        http1.Limits
	MaxBodyBytes  int64         // 0 = unlimited
	HeaderTimeout time.Duration // slowloris guard: first byte to end of head
	IdleTimeout   time.Duration // keep-alive idle between requests
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	// closers are the filters that own goroutines or files; Close stops them.
	closers []filter.Closer
}

// Route is one configured route, compiled.
type Route struct {
	Name         string
	Cluster      *upstream.Cluster
	StripPrefix  []byte        // removed from the normalised path before forwarding
	PreserveHost bool          // forward the client's Host instead of the target's
	Chain        *filter.Chain // the route's middleware, in order; nil when none
}

// Build compiles cfg. cfg must come from config.Parse (validated); errors here
// are the router's, named with the route's position.
func Build(cfg *config.Config) (*Snapshot, error) {
	s := &Snapshot{
		Router:   router.New(),
		Clusters: make(map[string]*upstream.Cluster, len(cfg.Clusters)),
		Limits: http1.Limits{
			MaxHeaderBytes: cfg.Limits.MaxHeaderBytes.Int(),
			MaxURIBytes:    cfg.Limits.MaxURIBytes.Int(),
		},
		MaxBodyBytes:  int64(cfg.Limits.MaxBodyBytes),
		HeaderTimeout: cfg.Timeouts.ClientHeader.D(),
		IdleTimeout:   cfg.Timeouts.ClientIdle.D(),
	}
	for name, cc := range cfg.Clusters {
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
		// Health-check goroutines are not started here: whoever installs the
		// snapshot calls StartHealthChecks, and Close on the one it retires.
		c := upstream.New(name, targets, tc)
		c.ConnectTimeout = cc.Timeouts.Connect.D()
		c.ResponseTimeout = cc.Timeouts.Response.D()
		c.MaxIdle = cc.Pool.MaxIdlePerTarget
		c.IdleTimeout = cc.Pool.IdleTimeout.D()
		s.Clusters[name] = c
	}
	for _, p := range cfg.TrustedProxies {
		pfx, err := config.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %w", err)
		}
		s.TrustedProxies = append(s.TrustedProxies, pfx)
	}
	filters, err := s.buildFilters(cfg)
	if err != nil {
		return nil, err
	}
	for i, rc := range cfg.Routes {
		r := &Route{
			Name:         rc.Name,
			Cluster:      s.Clusters[rc.Cluster],
			PreserveHost: rc.PreserveHost,
		}
		if len(rc.Middleware) > 0 {
			fs := make([]filter.Filter, len(rc.Middleware))
			verified := false // an authentication filter ran before this one
			for j, name := range rc.Middleware {
				fs[j] = filters[name]
				if p, ok := fs[j].(interface{ ProvidesClaims() bool }); ok && p.ProvidesClaims() {
					verified = true
				}
				if n, ok := fs[j].(interface{ NeedsClaims() bool }); ok && n.NeedsClaims() && !verified {
					s.Close()
					return nil, fmt.Errorf("%s: routes[%d] %q: middleware %q checks claims, so a jwt middleware must come before it in the list", rc.Pos, i, rc.Name, name)
				}
			}
			r.Chain = filter.NewChain(fs...)
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
		}
		if err := s.Router.Add(spec); err != nil {
			s.Close()
			return nil, fmt.Errorf("%s: routes[%d] %q: %w", rc.Pos, i, rc.Name, err)
		}
		s.Routes = append(s.Routes, r)
	}
	return s, nil
}

// buildFilters builds each middleware instance once: routes naming the same
// instance share it (and so share, say, a rate limiter's buckets). On error
// the filters built so far are closed.
func (s *Snapshot) buildFilters(cfg *config.Config) (map[string]filter.Filter, error) {
	out := make(map[string]filter.Filter, len(cfg.Middleware))
	for _, name := range slices.Sorted(maps.Keys(cfg.Middleware)) {
		f, err := filter.Build(cfg.Middleware[name])
		if err != nil {
			s.Close()
			return nil, err
		}
		if c, ok := f.(filter.Closer); ok {
			s.closers = append(s.closers, c)
		}
		out[name] = f
	}
	return out, nil
}

// Start starts the snapshot's background work that only a serving
// snapshot needs: active health checks. (Filters start theirs in Build.)
func (s *Snapshot) Start() {
	for _, c := range s.Clusters {
		c.StartHealthChecks()
	}
}

// Close stops what the snapshot runs in the background (health checks,
// JWKS refreshers, log writers). Call it once no request uses the snapshot
// any more; a filter used after Close degrades (cached keys only, log
// lines dropped) rather than failing. Idempotent.
func (s *Snapshot) Close() {
	for _, c := range s.Clusters {
		c.Close()
	}
	for _, c := range s.closers {
		_ = c.Close()
	}
	s.closers = nil
}
