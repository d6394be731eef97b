// Package upstream holds clusters of upstream targets and picks one per
// request: the balancers (weighted round robin, least request, consistent
// hash, random), each target's circuit breaker, passive and active health,
// and the cluster's retry budget. It knows nothing about connections: the
// engine keeps one keep-alive pool per target on each event loop.
//
// Everything a request touches (Select, Done, AllowRetry) is lock-free and
// allocation-free, and safe from any goroutine; health probes run on their
// own goroutines and publish through atomics.
package upstream

import (
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/breaker"
)

// Target is one upstream address of a cluster. The exported fields are
// immutable once the cluster is built; the rest is live state that any
// goroutine may read through the getters.
type Target struct {
	Addr    string // host:port to dial
	Host    []byte // Host header sent upstream unless the route preserves the client's
	Weight  int    // relative share of requests; at least 1
	Cluster *Cluster

	index    int              // position in Cluster.Targets
	brk      *breaker.Breaker // nil when the cluster has no breakers
	inFlight atomic.Int64     // Select'ed and not yet Done
	// downUntil is the health state in one word: 0 (or any time already
	// past) = healthy; math.MaxInt64 = down until active checks pass again;
	// other values = passively ejected until that unix-nanosecond time.
	downUntil atomic.Int64
	fails     atomic.Int32  // consecutive failures of real traffic
	ejections atomic.Uint64 // passive ejections so far
}

// Breaker returns the target's circuit breaker, nil when the cluster has
// breakers turned off. Any goroutine.
func (t *Target) Breaker() *breaker.Breaker { return t.brk }

// InFlight returns how many requests Select gave this target that have not
// been Done yet. Any goroutine.
func (t *Target) InFlight() int64 { return t.inFlight.Load() }

// Healthy reports whether health checking (active or passive) currently
// lets traffic reach the target, by the wall clock. Any goroutine.
func (t *Target) Healthy() bool { return t.HealthyAt(time.Now().UnixNano()) }

// HealthyAt is Healthy at now (unix nanoseconds). Any goroutine.
func (t *Target) HealthyAt(now int64) bool { return now >= t.downUntil.Load() }

// Ejections returns how many times passive health ejected the target. Any
// goroutine.
func (t *Target) Ejections() uint64 { return t.ejections.Load() }

// Balancer is how a cluster spreads requests over its targets.
type Balancer uint8

const (
	// RoundRobin is smooth weighted round robin (the zero value).
	RoundRobin Balancer = iota
	// LeastRequest picks two targets at random (weighted) and sends the
	// request to the one with fewer requests in flight.
	LeastRequest
	// ConsistentHash maps a request key (header, cookie or client IP) to a
	// target on a hash ring, so the same key keeps reaching the same target
	// and adding or removing a target moves only about 1/N of the keys.
	ConsistentHash
	// Random picks a target at random in proportion to its weight.
	Random
)

var balancerNames = [...]string{"round_robin", "least_request", "consistent_hash", "random"}

// String returns the balancer's config name.
func (b Balancer) String() string {
	if int(b) < len(balancerNames) {
		return balancerNames[b]
	}
	return "unknown"
}

// ParseBalancer maps a config name (round_robin, …) to its Balancer.
func ParseBalancer(s string) (Balancer, bool) {
	for i, n := range balancerNames {
		if n == s {
			return Balancer(i), true
		}
	}
	return 0, false
}

// Result is what became of a request Select sent to a target, for Done.
type Result uint8

const (
	// Success: the target answered with a status that is not a failure.
	Success Result = iota
	// Failure: connect error, reset, timeout or a failure status (see
	// IsFailureStatus). It counts against the breaker and passive health.
	Failure
	// Cancelled: the request ended without a verdict on the target (the
	// client went away). It releases the target's slots and records nothing.
	Cancelled
)

// BreakerConfig is breaker.Config, so callers building a cluster need not
// import the breaker package.
type BreakerConfig = breaker.Config

// Config is a cluster's traffic control. The zero value is weighted round
// robin with no breakers, no health checks and no retries.
type Config struct {
	// Balancer picks targets; zero is RoundRobin.
	Balancer Balancer
	// HashOn says where the ConsistentHash key comes from (the engine
	// computes it); ignored by other balancers.
	HashOn HashOn
	// Breaker, when not nil, gives every target a circuit breaker with these
	// thresholds. Its OnTransition, if set, is called after the cluster logs
	// the transition.
	Breaker *BreakerConfig
	// FailureStatuses are the upstream response statuses that count as a
	// failure (IsFailureStatus). Default none.
	FailureStatuses []int
	// Health configures active checks and passive ejection.
	Health Health
	// Retry is the retry policy and budget.
	Retry Retry
	// OnTransition, if set, is told about every breaker transition of every
	// target, after it is logged (for metrics). Same rules as
	// breaker.Config.OnTransition: short, never blocking.
	OnTransition func(t *Target, from, to breaker.State)
	// OnHealthCheck, if set, is told the result of every active check
	// (for metrics), on the checker's goroutine.
	OnHealthCheck func(t *Target, ok bool)
	// OnEject, if set, is told about every passive ejection, on the
	// goroutine of the request whose failure ejected the target.
	OnEject func(t *Target)
	// Logger receives breaker and health transitions; nil means
	// slog.Default() at the time of each message.
	Logger *slog.Logger
}

// Cluster is a named group of targets with the timeouts and pool limits the
// engine applies to them. Its configuration is immutable once built; its
// live state (cursors, counters, health, breakers) is atomic, so any
// goroutine may use it.
type Cluster struct {
	Name            string
	Targets         []*Target
	ConnectTimeout  time.Duration // dial timeout; failure -> 502
	ResponseTimeout time.Duration // max silence while waiting for the upstream; -> 504
	MaxIdle         int           // idle keep-alive conns per target per loop; 0 disables reuse
	IdleTimeout     time.Duration // idle conns older than this are closed
	// HashOn is where the engine takes the consistent-hash key from
	// (Kind HashNone for the other balancers).
	HashOn HashOn
	// Retry is the retry policy: how many tries, on what, within what
	// budget (see RetryOn and AllowRetry).
	Retry Retry

	balancer   Balancer
	slots      []*Target // targets repeated by weight, interleaved
	next       atomic.Uint64
	ring       ring
	failStatus [10]uint64 // bit s set: status s is a failure (s < 640)
	health     Health
	budget     budget
	log        *slog.Logger
	onChange   func(t *Target, from, to breaker.State)
	onCheck    func(t *Target, ok bool)
	onEject    func(t *Target)

	// checks is the active health checker's lifecycle; never touched by
	// requests.
	checks struct {
		mu      sync.Mutex
		started bool
		closed  bool
		running atomic.Bool // probes are running: passive ejection waits for them
		stop    func()
		wg      sync.WaitGroup
	}
}

// NewCluster builds a weighted round-robin cluster with no breakers, health
// checks or retries: New with a zero Config.
func NewCluster(name string, targets []*Target) *Cluster {
	return New(name, targets, Config{})
}

// New builds a cluster over targets, which it takes ownership of (it sets
// their Cluster and live state). Out-of-range settings are clamped rather
// than refused: the config package validates what operators write.
func New(name string, targets []*Target, cfg Config) *Cluster {
	c := &Cluster{
		Name:     name,
		Targets:  targets,
		HashOn:   cfg.HashOn,
		Retry:    cfg.Retry,
		balancer: cfg.Balancer,
		health:   cfg.Health,
		log:      cfg.Logger,
		onChange: cfg.OnTransition,
		onCheck:  cfg.OnHealthCheck,
		onEject:  cfg.OnEject,
	}
	if c.balancer != ConsistentHash {
		c.HashOn = HashOn{}
	}
	c.Retry.Attempts = max(c.Retry.Attempts, 1)
	c.budget.init(c.Retry)
	for _, s := range cfg.FailureStatuses {
		if s >= 0 && s < 64*len(c.failStatus) {
			c.failStatus[s/64] |= 1 << (s % 64)
		}
	}
	for i, t := range targets {
		t.Cluster, t.index = c, i
		if cfg.Breaker != nil {
			bc := *cfg.Breaker
			user := bc.OnTransition
			bc.OnTransition = func(from, to breaker.State) {
				c.breakerChanged(t, from, to)
				if user != nil {
					user(from, to)
				}
			}
			t.brk = breaker.New(bc)
		}
	}
	c.slots = interleave(targets)
	if c.balancer == ConsistentHash {
		c.ring = buildRing(targets)
	}
	return c
}

// interleave spreads each target over the table in proportion to its weight,
// so consecutive picks alternate (a,b,a,b,a) rather than bunch up (a,a,a,b,b).
func interleave(targets []*Target) []*Target {
	total := 0
	for _, t := range targets {
		total += max(t.Weight, 1)
	}
	out := make([]*Target, 0, total)
	current := make([]int, len(targets))
	for range total {
		best := 0
		for i, t := range targets {
			current[i] += max(t.Weight, 1)
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, targets[best])
	}
	return out
}

// Pick returns the next target in weighted round-robin order, ignoring
// health, breakers and the configured balancer. Any goroutine. Prefer
// Select, which does not send traffic to targets known to be down.
func (c *Cluster) Pick() *Target {
	n := c.next.Add(1) - 1
	return c.slots[n%uint64(len(c.slots))]
}

// Balancer returns the cluster's balancer.
func (c *Cluster) Balancer() Balancer { return c.balancer }

// IsFailureStatus reports whether an upstream response status counts as a
// failure of the target (breaker, passive health). Any goroutine.
func (c *Cluster) IsFailureStatus(status int) bool {
	if status < 0 || status >= 64*len(c.failStatus) {
		return false
	}
	return c.failStatus[status/64]&(1<<(status%64)) != 0
}

// logger returns the configured logger or, at the time of the call, the
// default one (so a logger installed after the cluster was built is used).
func (c *Cluster) logger() *slog.Logger {
	if c.log != nil {
		return c.log
	}
	return slog.Default()
}

// breakerChanged logs a transition of t's breaker and passes it on. It runs
// on the goroutine that made the transition, rarely.
func (c *Cluster) breakerChanged(t *Target, from, to breaker.State) {
	switch to {
	case breaker.Open:
		c.logger().Warn("breaker opened", "cluster", c.Name, "target", t.Addr, "from", from.String())
	case breaker.HalfOpen:
		c.logger().Info("breaker half-open", "cluster", c.Name, "target", t.Addr)
	case breaker.Closed:
		c.logger().Info("breaker closed", "cluster", c.Name, "target", t.Addr)
	}
	if c.onChange != nil {
		c.onChange(t, from, to)
	}
}

// forever marks a target that stays down until active checks pass.
const forever = math.MaxInt64
