package ratesync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/limiter"
)

// Options configure a Syncer.
type Options struct {
	// Name is the limit's name: part of its Redis keys, metric labels and
	// log lines. Required; every instance of the cluster must use the same.
	Name string
	// Redis is the decoded top-level redis block (defaults applied).
	Redis config.Redis
	// Password is the value of the variable Redis.PasswordEnv names; ""
	// for none.
	Password string
	// Limiter is the local bucket table the syncer keeps in step; its keys
	// must be the same on every instance (seeds shared, not random).
	Limiter *limiter.Limiter
	// Limit is the limiter's config, for the token interval and burst.
	Limit limiter.Config
	// Logger receives the state changes; nil means slog.Default().
	Logger *slog.Logger
}

// Syncer keeps one cluster-scoped limiter in step with its peers through
// Redis (see the package doc). Create it with New, stop it with Close.
type Syncer struct {
	name   string
	lim    *limiter.Limiter
	pend   *pending
	client redis.UniversalClient
	log    *slog.Logger

	tokenNS  int64  // limiter interval T in ns
	tokenUS  string // T in microseconds, for the script
	burst    int64  // the most a failing-open request may cost
	interval time.Duration
	timeout  time.Duration
	closed   bool // on_failure: closed
	prefix   string
	instKey  string
	id       string
	aliveMS  int64

	// mode is what the loops read: modeSynced, modeClosed, or the cost in
	// tokens of a request while failing open (the instance's share).
	mode      atomic.Int64
	instances atomic.Int64 // live instances, last counted
	status    atomic.Pointer[Status]

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	m      syncMetrics
	remove func() // unregisters the readiness check

	// Round state, syncer goroutine only.
	batch     map[uint64]uint64 // key -> requests admitted since the last round
	keys      []uint64
	cmds      []*redis.Cmd
	downSince time.Time
	lastLog   time.Time
	failures  int64
	rounds    uint64
}

const (
	modeSynced = 0
	modeClosed = -1
	// logEvery spaces the reminders that Redis is still unreachable.
	logEvery = 30 * time.Second
)

// New connects (lazily: the first round dials) and starts the syncer's
// goroutine. Until its first round answers, the limit runs as if Redis
// were down, on the share Redis.Instances gives. Off the loops.
func New(o Options) (*Syncer, error) {
	r := o.Redis
	if o.Limiter == nil || o.Name == "" || len(r.Addresses) == 0 {
		return nil, errors.New("ratesync: Name, Limiter and Redis.Addresses are required")
	}
	if r.SyncInterval <= 0 || r.Timeout <= 0 {
		return nil, errors.New("ratesync: Redis.SyncInterval and Redis.Timeout must be > 0 (defaults not applied?)")
	}
	lc := o.Limit
	if lc.Burst == 0 {
		lc.Burst = lc.Rate
	}
	t := lc.Interval()
	s := &Syncer{
		name:     o.Name,
		lim:      o.Limiter,
		pend:     newPending(o.Limiter.Capacity()),
		log:      o.Logger,
		tokenNS:  int64(t),
		tokenUS:  strconv.FormatFloat(float64(t)/1e3, 'f', -1, 64),
		burst:    lc.Burst,
		interval: r.SyncInterval.D(),
		timeout:  r.Timeout.D(),
		closed:   r.OnFailure == "closed",
		prefix:   r.KeyPrefix + "rl:" + o.Name + ":",
		aliveMS:  max(2000, 20*r.SyncInterval.D().Milliseconds()),
		done:     make(chan struct{}),
		batch:    map[uint64]uint64{},
		m:        newSyncMetrics(o.Name),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.instKey = s.prefix + "instances"
	host, _ := os.Hostname()
	s.id = fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
	s.instances.Store(int64(max(r.Instances, 1)))
	s.fail()
	s.status.Store(&Status{Limit: o.Name, Detail: "connecting to redis"})
	s.client = redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:           r.Addresses,
		MasterName:      r.SentinelMaster,
		IsClusterMode:   r.Cluster,
		Username:        r.Username,
		Password:        o.Password,
		ClientName:      "sluice",
		DialTimeout:     s.timeout,
		ReadTimeout:     s.timeout,
		WriteTimeout:    s.timeout,
		MaxRetries:      -1, // the next round is the retry
		PoolSize:        4,
		DisableIdentity: true,
	})
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.remove = addCheck(s)
	go s.run()
	return s, nil
}

// Allow decides one request for key at now (unix ns). unavailable is true
// when Redis is out of reach and on_failure is closed: the caller answers
// 503 and d is zero. While failing open, a request costs the instance's
// share (one token per live instance) and d is scaled back to requests.
// Any loop; lock-free, no allocation.
func (s *Syncer) Allow(key uint64, now int64) (d limiter.Decision, unavailable bool) {
	switch m := s.mode.Load(); {
	case m == modeSynced:
		d = s.lim.Allow(key, now)
		if !s.pend.add(key, d.Allowed) {
			s.m.dropped.Inc()
		}
	case m > 0:
		d = s.lim.AllowN(key, now, m)
		d.Limit /= m
		d.Remaining /= m
	default:
		return d, true
	}
	return d, false
}

// Close stops the goroutine, deregisters this instance from the live
// count (best effort, so a rolling restart does not shrink the others'
// shares) and closes the connections. Idempotent; off the loops.
func (s *Syncer) Close() error {
	s.once.Do(func() {
		s.cancel()
		<-s.done
		ctx, cancel := context.WithTimeout(context.Background(), min(s.timeout, 250*time.Millisecond))
		s.client.ZRem(ctx, s.instKey, s.id)
		cancel()
		s.remove()
		s.client.Close()
	})
	return nil
}

// run is the syncer's goroutine: a round now, then one per interval (a
// slow round delays the next rather than piling up).
func (s *Syncer) run() {
	defer close(s.done)
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
		start := time.Now()
		err := s.round(ctx)
		cancel()
		if s.ctx.Err() != nil {
			return
		}
		s.m.duration.UpdateDuration(start)
		s.report(err)
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// round pushes what this instance admitted since the last round, pulls
// each key's cluster-wide debt into the local bucket, and counts the live
// instances: one pipelined round trip.
func (s *Syncer) round(ctx context.Context) error {
	clear(s.batch)
	s.keys = s.keys[:0]
	s.pend.drain(func(key, admitted uint64, _ bool) {
		if _, seen := s.batch[key]; !seen {
			s.keys = append(s.keys, key)
		}
		s.batch[key] += admitted
	})
	sent := time.Now().UnixNano()
	hb, err := s.exec(ctx)
	if isNoScript(err) {
		// Redis restarted or flushed its scripts: load them, once.
		if err = s.loadScripts(ctx); err == nil {
			sent = time.Now().UnixNano()
			hb, err = s.exec(ctx)
		}
	}
	if err != nil {
		return err
	}
	now := time.Now().UnixNano()
	// The debts are as of when the scripts ran, about halfway through the
	// round trip; the buckets have refilled since. Without this the local
	// view would lag by half a round trip more on every round.
	aged := (now - sent) / 2
	for i, key := range s.keys {
		us, err := s.cmds[i].Int64()
		if err != nil {
			return err
		}
		// The reply counts this instance's requests up to the drain; the
		// ones admitted since are in the local bucket already and must
		// stay there.
		debt := us*1000 - aged + int64(s.pend.since(key))*s.tokenNS
		s.lim.Raise(key, now, debt)
	}
	s.m.keys.Add(len(s.keys))
	s.instances.Store(max(hb, 1))
	return nil
}

// exec sends one round's pipeline and returns the live instance count.
func (s *Syncer) exec(ctx context.Context) (int64, error) {
	pipe := s.client.Pipeline()
	s.cmds = s.cmds[:0]
	for _, key := range s.keys {
		n := strconv.FormatUint(s.batch[key], 10)
		s.cmds = append(s.cmds, takeScript.EvalSha(ctx, pipe, []string{s.redisKey(key)}, n, s.tokenUS))
	}
	hb := heartbeatScript.EvalSha(ctx, pipe, []string{s.instKey}, s.id, s.aliveMS)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	return hb.Int64()
}

func (s *Syncer) loadScripts(ctx context.Context) error {
	if err := takeScript.Load(ctx, s.client).Err(); err != nil {
		return err
	}
	return heartbeatScript.Load(ctx, s.client).Err()
}

// quiet drops go-redis's own log lines (a dial failure per attempt): the
// syncer reports failures itself, rate-limited, with what it does about
// them.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

func isNoScript(err error) bool { return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") }

// redisKey is the Redis key of one bucket. Keys are spread over a Redis
// Cluster's slots (no hash tag): every script call touches one key.
func (s *Syncer) redisKey(key uint64) string {
	return s.prefix + strconv.FormatUint(key, 16)
}
