package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
)

// TestConcurrentReloads: reloads asked for at once run one at a time, each
// from the snapshot the previous one installed (run with -race); the
// replaced snapshots wait for retirement and are closed at exit.
func TestConcurrentReloads(t *testing.T) {
	file := writeFile(t, `listen: 127.0.0.1:18997
admin: ""
access_log: {enabled: false}
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
routes:
  - {name: r, match: {path: /x}, cluster: a}
`)
	fs, f := newFlags(io.Discard)
	if err := fs.Parse([]string{"-config", file, "-loops", "3"}); err != nil {
		t.Fatal(err)
	}
	f.record(fs)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	f.apply(cfg)
	snap, err := pipeline.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Options{Listen: cfg.Listen}, snap) // never served: Swap is all reload needs
	g := newGateway(f, slog.New(slog.NewTextHandler(io.Discard, nil)), new(slog.LevelVar), eng, cfg, snap)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			res, err := g.reload("test")
			if err == nil && len(res.RestartRequired) != 0 {
				err = fmt.Errorf("restart required %v: the -loops flag must keep winning on reload", res.RestartRequired)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if eng.Snapshot() != g.Running().Snapshot || g.Running().Config.Server.Loops != 3 {
		t.Error("the engine and the admin view disagree on the running snapshot")
	}
	g.rmu.Lock()
	retiring := len(g.retiring)
	g.rmu.Unlock()
	if retiring != n {
		t.Errorf("%d snapshots retiring, want %d", retiring, n)
	}
	g.closeSnapshots()
	if len(g.retiring) != 0 {
		t.Error("closeSnapshots left snapshots retiring")
	}

	// A failed reload keeps the running snapshot.
	before := g.Running()
	if err := os.WriteFile(file, []byte("listen: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := g.reload("test"); err == nil {
		t.Fatal("a broken file reloaded")
	}
	if g.Running() != before || eng.Snapshot() != before.Snapshot {
		t.Error("a failed reload replaced the running config")
	}
}
