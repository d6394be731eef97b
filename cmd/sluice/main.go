// Command sluice runs the Sluice API gateway.
//
//	sluice                         run the embedded quickstart (demo upstreams included)
//	sluice -config FILE            run FILE
//	sluice -check -config FILE     validate FILE and exit (like nginx -t)
//	sluice hash-key [KEY]          print the key_sha256 of an API key (KEY or stdin)
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
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/engine"
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
	fs, f := newFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	f.apply(fs, cfg)
	snap, err := pipeline.Build(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer snap.Close()
	if f.check {
		fmt.Fprintf(stderr, "%s: configuration ok (%d routes, %d clusters)\n", cfgName(f.config), len(cfg.Routes), len(cfg.Clusters))
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel(cfg.Server.LogLevel)}))
	slog.SetDefault(log) // breaker and health transitions log through the default logger
	snap.Start()
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer stop()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, addr := range cfg.DemoUpstreams {
		if err := demo.Serve(ctx, addr); err != nil {
			fmt.Fprintf(stderr, "demo upstream %s: %v\n", addr, err)
			return 1
		}
		log.Info("demo upstream listening", "addr", addr)
	}

	eng := engine.New(engine.Options{
		Listen:       cfg.Listen,
		Loops:        cfg.Server.Loops,
		ReusePort:    cfg.Server.ReusePort,
		LockOSThread: cfg.Server.LockOSThread,
		ReadBuffer:   cfg.Server.ReadBuffer.Int(),
		WriteBuffer:  cfg.Server.WriteBuffer.Int(),
		DrainTimeout: cfg.Server.DrainTimeout.D(),
		Logger:       log,
	}, snap)
	served := make(chan error, 1)
	go func() { served <- eng.Serve() }()
	readyCtx, readyCancel := context.WithTimeout(ctx, 10*time.Second)
	err = eng.Ready(readyCtx)
	readyCancel()
	if err != nil {
		fmt.Fprintf(stderr, "listen %s: %v\n", cfg.Listen, errors.Join(err, drainErr(served)))
		return 1
	}
	loops := cfg.Server.Loops
	if loops == 0 {
		loops = runtime.GOMAXPROCS(0)
	}
	log.Info("sluice listening", "addr", cfg.Listen, "loops", loops, "routes", len(cfg.Routes), "config", cfgName(f.config))

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for {
		select {
		case err := <-served:
			log.Error("engine stopped", "err", err)
			return 1
		case s := <-sigs:
			if s == syscall.SIGHUP {
				reload(log, eng, f)
				continue
			}
			log.Info("draining", "signal", s.String(), "timeout", cfg.Server.DrainTimeout.D())
			if err := eng.Shutdown(context.Background()); err != nil {
				log.Error("shutdown", "err", err)
			}
			<-served
			log.Info("stopped")
			return 0
		}
	}
}

// reload re-reads the config file and swaps the snapshot; a bad file leaves
// the running config in place. The listener, loops and demo upstreams are
// fixed at start; the admin API and finer reload semantics arrive later.
func reload(log *slog.Logger, eng *engine.Engine, f *flags) {
	if f.config == "" {
		log.Warn("reload: running the embedded quickstart; nothing to reload")
		return
	}
	cfg, err := config.Load(f.config)
	if err == nil {
		f.applyUpstream(cfg)
		var snap *pipeline.Snapshot
		if snap, err = pipeline.Build(cfg); err == nil {
			old := eng.Snapshot()
			snap.Start()
			eng.Swap(snap)
			// Requests routed on the old snapshot may still run its filters;
			// stop its background work (JWKS refresh, log writers) once they
			// have had time to finish.
			time.AfterFunc(retireAfter, old.Close)
			log.Info("reloaded", "config", f.config, "routes", len(cfg.Routes))
			return
		}
	}
	log.Error("reload failed; still serving the previous config", "err", err)
}

// retireAfter is how long a replaced snapshot keeps its background work:
// longer than any request should take on it.
const retireAfter = 2 * time.Minute

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
