// Command sluice runs the Sluice API gateway.
//
//	sluice                         run the embedded quickstart (demo upstreams included)
//	sluice -config FILE            run FILE
//	sluice -check -config FILE     validate FILE and exit (like nginx -t)
//	sluice hash-key [KEY]          print the key_sha256 of an API key (KEY or stdin)
//	sluice status [-admin ADDR]    config, last reload, clusters of a running gateway
//	sluice routes [-admin ADDR]    its routes with live req/s, errors, latency
//	sluice -version                print the version and the Go version it was built with
//
// Any other positional argument is a usage error (exit 2): a stray word
// such as `sluice version` must not start the quickstart.
//
// Signals: SIGHUP reloads the config file (as POST /reload on the admin API
// does); SIGTERM and SIGINT drain and exit 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/admin"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/engine"
	_ "github.com/sluicehq/sluice/filter/builtin" // every shipped middleware type
	"github.com/sluicehq/sluice/internal/demo"
	"github.com/sluicehq/sluice/pipeline"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run is main without the exit, so tests can drive it.
func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "hash-key" {
		return hashKey(args[1:], os.Stdin, os.Stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "status" || args[0] == "routes") {
		return adminView(args[0], args[1:], os.Stdout, stderr)
	}
	fs, f := newFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice: unexpected argument %q (flags start with -; the subcommands are hash-key, status and routes)\n\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if f.version {
		fmt.Fprintln(os.Stdout, versionLine())
		return 0
	}
	f.record(fs)
	cfg, err := loadConfig(f.config)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	f.apply(cfg)
	token, err := cfg.AdminToken(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !f.check {
		// Before the pipeline is built: filters start their background
		// work in Build, and the quickstart's jwt filter fetches its JWKS
		// from a demo upstream at once.
		for _, addr := range cfg.DemoUpstreams {
			if err := demo.Serve(ctx, addr); err != nil {
				fmt.Fprintf(stderr, "demo upstream %s: %v\n", addr, err)
				return 1
			}
		}
	}
	snap, err := pipeline.Build(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	warnings := append(snap.FallthroughWarnings(cfg), snap.RouteWarnings(cfg)...)
	if f.check {
		snap.Close()
		for _, w := range warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		fmt.Fprintf(stderr, "%s: configuration ok (%d routes, %d clusters)\n", cfgName(f.config), len(cfg.Routes), len(cfg.Clusters))
		return 0
	}
	level := new(slog.LevelVar) // a reload may change it
	level.Set(logLevel(cfg.Server.LogLevel))
	// From here on every line goes through log, so log_format: json
	// yields JSON lines only, failures included.
	log := newLogger(stderr, cfg.Server.LogFormat, level)
	slog.SetDefault(log) // breaker and health transitions log through the default logger
	snap.Start()
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			snap.Close()
			log.Error("cannot start the CPU profile", "err", err)
			return 1
		}
		defer stop()
	}

	for _, addr := range cfg.DemoUpstreams {
		log.Info("demo upstream listening", "addr", addr)
	}
	for _, w := range warnings {
		log.Warn(w)
	}

	loops := cfg.Server.Loops
	if loops == 0 {
		loops = runtime.GOMAXPROCS(0)
	}
	spareProcs(loops, log)
	eng := engine.New(engine.Options{
		Listen:       cfg.Listen,
		Loops:        loops,
		ReusePort:    cfg.Server.ReusePort,
		LockOSThread: cfg.Server.LockOSThread,
		ReadBuffer:   cfg.Server.ReadBuffer.Int(),
		WriteBuffer:  cfg.Server.WriteBuffer.Int(),
		// The drain budget is the context drain passes to Shutdown, from
		// the running config, so server.drain_timeout reloads (and 0
		// means "close at once", as documented).
		DrainTimeout: engineDrainCap,
		Logger:       log,
	}, snap)
	g := newGateway(f, log, level, eng, cfg, snap)
	defer g.closeSnapshots()

	// Signals are caught from here on, so a SIGTERM during start-up is a
	// drain rather than a kill.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	// The admin API comes up before the client listener, so /readyz can be
	// watched going from 503 to 200.
	if cfg.Admin != "" {
		g.admin = admin.New(admin.Options{Gateway: g, Token: token, Pprof: f.adminPprof, Logger: log})
		addr, err := g.admin.Start(cfg.Admin)
		if err != nil {
			log.Error("admin listener failed", "addr", cfg.Admin, "err", err)
			return 1
		}
		defer closeAdmin(g.admin)
		log.Info("admin API listening", "addr", addr.String(), "token", token != "", "pprof", f.adminPprof)
		if token == "" && !isLoopback(cfg.Admin) {
			log.Warn("the admin API is reachable beyond loopback without a token; set admin_token_env", "addr", cfg.Admin)
		}
	}

	served := make(chan error, 1)
	go func() { served <- eng.Serve() }()
	readyCtx, readyCancel := context.WithTimeout(ctx, 10*time.Second)
	err = eng.Ready(readyCtx)
	readyCancel()
	if err != nil {
		log.Error("listener failed", "addr", cfg.Listen, "err", errors.Join(err, drainErr(served)))
		return 1
	}
	g.listening.Store(true)
	log.Info("sluice listening", "addr", cfg.Listen, "loops", loops, "routes", len(cfg.Routes), "config", cfgName(f.config))

	if f.watchConfig {
		if f.config == "" {
			log.Warn("-watch-config: running the embedded quickstart; there is no file to watch")
		} else {
			go watchConfig(ctx, f.config, watchInterval, log, func() { g.reload("file change") })
		}
	}

	for {
		select {
		case err := <-served:
			log.Error("engine stopped", "err", err)
			return 1
		case s := <-sigs:
			if s == syscall.SIGHUP {
				g.reload("SIGHUP")
				continue
			}
			g.drain(s, sigs, served)
			return 0
		}
	}
}

// engineDrainCap is the engine's own drain limit; the real one is the
// running config's drain_timeout, applied by drain.
const engineDrainCap = 100 * 365 * 24 * time.Hour

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Parse("quickstart.yaml (embedded)", sluice.Quickstart)
	}
	return config.Load(path)
}

func cfgName(path string) string {
	if path == "" {
		return "quickstart.yaml (embedded)"
	}
	return path
}

func drainErr(ch chan error) error {
	select {
	case err := <-ch:
		return err
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

// newLogger writes operational log lines to w as text (key=value) or as
// JSON objects, one per line, at level and above.
func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func logLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// startCPUProfile profiles the whole run; the returned func ends it.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
