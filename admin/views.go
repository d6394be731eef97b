package admin

import (
	"maps"
	"slices"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/upstream"
)

// The JSON shapes below are the admin API's contract: fields are added,
// never renamed.

// summary describes an installed config (GET /config, POST /reload).
type summary struct {
	File       string    `json:"file"` // "" for a config without a file
	LoadedAt   time.Time `json:"loaded_at"`
	Routes     int       `json:"routes"`
	Clusters   int       `json:"clusters"`
	Middleware int       `json:"middleware"`
}

func summarize(r *Running) summary {
	c := r.Config
	return summary{File: c.File, LoadedAt: r.LoadedAt.UTC(), Routes: len(c.Routes), Clusters: len(c.Clusters), Middleware: len(c.Middleware)}
}

// routeView is one route of GET /routes, in config order.
type routeView struct {
	Name         string    `json:"name"`
	Match        matchView `json:"match"`
	Cluster      string    `json:"cluster"`
	StripPrefix  string    `json:"strip_prefix,omitempty"`
	PreserveHost bool      `json:"preserve_host"`
	Middleware   []string  `json:"middleware"` // instance names, in order; [] when none
}

type matchView struct {
	Path    string   `json:"path"`
	Methods []string `json:"methods"` // [] = any method
	Host    string   `json:"host,omitempty"`
	// Headers are the header names required, each value shown as
	// "[redacted]" as in /config (a route may match on a shared secret
	// header under any name).
	Headers object `json:"headers,omitempty"`
	// AcceptVersion is the API version the Accept header must ask for;
	// omitted when the route has no such condition.
	AcceptVersion string `json:"accept_version,omitempty"`
}

func routeViews(c *config.Config) []routeView {
	out := make([]routeView, 0, len(c.Routes))
	for _, r := range c.Routes {
		if r == nil {
			continue
		}
		m := matchView{Path: r.Match.Path, Methods: orEmpty(r.Match.Methods), Host: r.Match.Host, AcceptVersion: r.Match.AcceptVersion}
		for _, name := range slices.Sorted(maps.Keys(r.Match.Headers)) {
			m.Headers = append(m.Headers, member{name, r.Match.Headers[name]})
		}
		if m.Headers != nil {
			m.Headers = redactValues(m.Headers).(object)
		}
		out = append(out, routeView{
			Name: r.Name, Match: m, Cluster: r.Cluster, StripPrefix: r.StripPrefix,
			PreserveHost: r.PreserveHost, Middleware: orEmpty(r.Middleware),
		})
	}
	return out
}

// clusterView is one cluster of GET /clusters, sorted by name, with the
// live state of its targets.
type clusterView struct {
	Name     string       `json:"name"`
	Balancer string       `json:"balancer"`
	Targets  []targetView `json:"targets"`
	Retries  retryView    `json:"retries"`
}

type targetView struct {
	Address string `json:"address"` // host:port dialled
	Weight  int    `json:"weight"`
	// Healthy: health checking (active or passive) lets traffic reach it.
	Healthy bool `json:"healthy"`
	// Breaker is "closed", "open", "half-open", or "off" when the cluster
	// has no breakers.
	Breaker   string `json:"breaker"`
	InFlight  int64  `json:"in_flight"` // requests sent and not finished
	Ejections uint64 `json:"ejections"` // passive ejections so far
}

type retryView struct {
	Allowed uint64 `json:"allowed"` // retries the budget let through
	Denied  uint64 `json:"denied"`  // retries it refused
}

func clusterViews(s *pipeline.Snapshot) []clusterView {
	out := make([]clusterView, 0, len(s.Clusters))
	for _, name := range slices.Sorted(maps.Keys(s.Clusters)) {
		c := s.Clusters[name]
		v := clusterView{Name: name, Balancer: c.Balancer().String(), Targets: make([]targetView, 0, len(c.Targets))}
		v.Retries.Allowed, v.Retries.Denied = c.RetryStats()
		for _, t := range c.Targets {
			v.Targets = append(v.Targets, targetOf(t))
		}
		out = append(out, v)
	}
	return out
}

func targetOf(t *upstream.Target) targetView {
	v := targetView{Address: t.Addr, Weight: t.Weight, Healthy: t.Healthy(), Breaker: "off", InFlight: t.InFlight(), Ejections: t.Ejections()}
	if b := t.Breaker(); b != nil {
		v.Breaker = b.State().String()
	}
	return v
}

// orEmpty makes a nil list encode as [] rather than null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
