package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/admin"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
)

// retireAfter is how long a replaced snapshot keeps its background work:
// longer than any request should take on it.
const retireAfter = 2 * time.Minute

// gateway is the running process: the engine, the installed config and
// the reload machinery. It implements admin.Gateway; every method may be
// called from any goroutine.
type gateway struct {
	f     *flags
	log   *slog.Logger
	level *slog.LevelVar
	eng   *engine.Engine
	admin *admin.Server // nil when the admin listener is off; set before it serves

	cur       atomic.Pointer[admin.Running]
	last      atomic.Pointer[admin.ReloadReport] // nil before the first reload
	listening atomic.Bool                        // the client listener accepts connections
	draining  atomic.Bool                        // a SIGTERM arrived: /readyz fails from now on

	// mu serialises reloads: SIGHUP, POST /reload and the file watcher
	// may ask at once, and each must build from the snapshot the previous
	// one installed.
	mu sync.Mutex
	// retiring holds replaced snapshots until their grace period ends;
	// closeSnapshots closes whatever is left at exit.
	retiring map[*pipeline.Snapshot]*time.Timer
	rmu      sync.Mutex

	now func() time.Time // time.Now; tests may replace it
}

func newGateway(f *flags, log *slog.Logger, level *slog.LevelVar, eng *engine.Engine, cfg *config.Config, snap *pipeline.Snapshot) *gateway {
	g := &gateway{f: f, log: log, level: level, eng: eng, retiring: map[*pipeline.Snapshot]*time.Timer{}, now: time.Now}
	at := g.now()
	g.cur.Store(&admin.Running{Config: cfg, Snapshot: snap, LoadedAt: at, Version: 1})
	// The first load counts as a successful one for the gauges, so they
	// mean something before any reload.
	lastReloadSuccessful.Set(1)
	lastReloadSuccessTime.Set(float64(at.UnixNano()) / 1e9)
	return g
}

// Running implements admin.Gateway.
func (g *gateway) Running() *admin.Running { return g.cur.Load() }

// LastReload implements admin.Gateway.
func (g *gateway) LastReload() *admin.ReloadReport { return g.last.Load() }

// Reload implements admin.Gateway: POST /reload.
func (g *gateway) Reload() (*admin.ReloadResult, error) { return g.reload("POST /reload") }

var (
	errStarting = errors.New("starting: the client listener is not up yet")
	errDraining = errors.New("draining: shutting down")
)

// Ready implements admin.Gateway: the config is loaded (it always is once
// a gateway exists), the listener is up and no drain has begun.
func (g *gateway) Ready() error {
	switch {
	case g.draining.Load() || g.eng.Draining():
		return errDraining
	case !g.listening.Load():
		return errStarting
	}
	return nil
}

// reload re-reads the config file and, if it is valid, swaps it in: the
// one path SIGHUP, POST /reload and -watch-config share. On any error the
// running config keeps serving; the error is logged with every
// file:line:column and returned for POST /reload. trigger names the
// caller in the log.
func (g *gateway) reload(trigger string) (*admin.ReloadResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	start := g.now()
	res, err := g.install()
	g.last.Store(&admin.ReloadReport{At: start, Trigger: trigger, Err: err})
	if err != nil {
		reloadsFailure.Inc()
		lastReloadSuccessful.Set(0)
		g.log.Error("reload failed; still serving the previous config", "trigger", trigger, "config", g.f.config, "err", err)
		return nil, err
	}
	reloadsSuccess.Inc()
	lastReloadSuccessful.Set(1)
	lastReloadSuccessTime.Set(float64(res.Running.LoadedAt.UnixNano()) / 1e9)
	cfg := res.Running.Config
	g.log.Info("reloaded", "trigger", trigger, "config", g.f.config, "routes", len(cfg.Routes), "clusters", len(cfg.Clusters),
		"took", g.now().Sub(start).Round(time.Microsecond))
	if len(res.RestartRequired) > 0 {
		g.log.Warn("reload: these settings only change with a restart; their old values stay in force", "keys", res.RestartRequired)
	}
	return res, nil
}

// install is reload's work, under g.mu.
func (g *gateway) install() (*admin.ReloadResult, error) {
	if g.f.config == "" {
		return nil, fmt.Errorf("%w: running the embedded quickstart (start with -config FILE)", admin.ErrNothingToReload)
	}
	cfg, err := config.Load(g.f.config)
	if err != nil {
		return nil, err
	}
	g.f.apply(cfg)
	old := g.cur.Load()
	restart := keepFixed(old.Config, cfg)
	token, err := cfg.AdminToken(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	// Clusters and middleware the new config leaves unchanged are carried
	// over with their live state (breakers, health, buckets, JWKS).
	snap, err := pipeline.BuildFrom(cfg, old.Snapshot)
	if err != nil {
		return nil, err
	}
	for _, w := range append(snap.FallthroughWarnings(cfg), snap.RouteWarnings(cfg)...) {
		g.log.Warn(w)
	}
	snap.Start()
	g.eng.Swap(snap)
	run := &admin.Running{Config: cfg, Snapshot: snap, LoadedAt: g.now(), Version: old.Version + 1}
	g.cur.Store(run)
	g.level.Set(logLevel(cfg.Server.LogLevel))
	if g.admin != nil {
		g.admin.SetToken(token)
	}
	g.retire(old.Snapshot)
	return &admin.ReloadResult{Running: run, RestartRequired: restart}, nil
}

// retire closes a replaced snapshot once requests routed on it have had
// time to finish: they may still run its filters.
func (g *gateway) retire(s *pipeline.Snapshot) {
	g.rmu.Lock()
	defer g.rmu.Unlock()
	g.retiring[s] = time.AfterFunc(retireAfter, func() {
		g.rmu.Lock()
		delete(g.retiring, s)
		g.rmu.Unlock()
		s.Close()
	})
}

// closeSnapshots closes the serving snapshot and every retiring one; run
// calls it on the way out, when no request is left.
func (g *gateway) closeSnapshots() {
	g.rmu.Lock()
	for s, t := range g.retiring {
		t.Stop()
		s.Close()
		delete(g.retiring, s)
	}
	g.rmu.Unlock()
	g.cur.Load().Snapshot.Close()
}

// fixedKeys are the settings that only take effect at start: the
// listeners, the event loops and the demo upstreams. Each entry reads the
// value from a config and copies it from one config to another.
var fixedKeys = []struct {
	key  string
	same func(a, b *config.Config) bool
	keep func(dst, src *config.Config)
}{
	{"listen", func(a, b *config.Config) bool { return a.Listen == b.Listen }, func(d, s *config.Config) { d.Listen = s.Listen }},
	{"admin", func(a, b *config.Config) bool { return a.Admin == b.Admin }, func(d, s *config.Config) { d.Admin = s.Admin }},
	{"server.loops", func(a, b *config.Config) bool { return a.Server.Loops == b.Server.Loops }, func(d, s *config.Config) { d.Server.Loops = s.Server.Loops }},
	{"server.reuseport", func(a, b *config.Config) bool { return a.Server.ReusePort == b.Server.ReusePort }, func(d, s *config.Config) { d.Server.ReusePort = s.Server.ReusePort }},
	{"server.lock_os_thread", func(a, b *config.Config) bool { return a.Server.LockOSThread == b.Server.LockOSThread }, func(d, s *config.Config) { d.Server.LockOSThread = s.Server.LockOSThread }},
	{"server.read_buffer", func(a, b *config.Config) bool { return a.Server.ReadBuffer == b.Server.ReadBuffer }, func(d, s *config.Config) { d.Server.ReadBuffer = s.Server.ReadBuffer }},
	{"server.write_buffer", func(a, b *config.Config) bool { return a.Server.WriteBuffer == b.Server.WriteBuffer }, func(d, s *config.Config) { d.Server.WriteBuffer = s.Server.WriteBuffer }},
	{"server.log_format", func(a, b *config.Config) bool { return a.Server.LogFormat == b.Server.LogFormat }, func(d, s *config.Config) { d.Server.LogFormat = s.Server.LogFormat }},
	{"demo_upstreams", func(a, b *config.Config) bool { return slices.Equal(a.DemoUpstreams, b.DemoUpstreams) }, func(d, s *config.Config) { d.DemoUpstreams = s.DemoUpstreams }},
}

// keepFixed puts running's start-time settings back into next and returns
// the keys next wanted to change: they need a restart, and next must show
// what is really in force (in /config, and for the next reload's
// comparison).
func keepFixed(running, next *config.Config) []string {
	var changed []string
	for _, k := range fixedKeys {
		if !k.same(running, next) {
			changed = append(changed, k.key)
			k.keep(next, running)
		}
	}
	return changed
}
