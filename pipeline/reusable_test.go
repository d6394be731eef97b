package pipeline

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// The two middleware types below exist only in this test: the pipeline
// knows nothing of them but what the filter package's optional interfaces
// say, which is the point. They are registered from init because the
// registry refuses a type twice (go test -count=2 reruns tests, not inits).
func init() {
	filter.Register(filter.Type{Name: "test_counted", Decode: decodeCounted, Build: buildCounted})
	filter.Register(filter.Type{Name: "test_rebuilt", Decode: decodeCounted, Build: buildCounted})
}

// countedSettings is `type: test_counted`: a filter that reads a file at
// Build and counts the requests it saw (its state).
type countedSettings struct {
	File string `yaml:"file"`
	Dir  string `yaml:"-"`
}

// ReloadInputs implements filter.Reusable.
func (s *countedSettings) ReloadInputs(in *filter.Inputs) { in.File(s.Dir, s.File) }

// rebuiltSettings is the same without filter.Reusable: never carried.
type rebuiltSettings countedSettings

func decodeCounted(m *config.Middleware) error {
	s := &countedSettings{}
	if err := m.Decode(s); err != nil {
		return err
	}
	s.Dir = filepath.Dir(m.Pos.File)
	if m.Type == "test_rebuilt" {
		m.Settings = (*rebuiltSettings)(s)
	} else {
		m.Settings = s
	}
	return nil
}

type countedFilter struct {
	content string
	seen    atomic.Int64
}

func (f *countedFilter) Request(*filter.Exchange) filter.Verdict {
	f.seen.Add(1)
	return filter.Continue
}

func buildCounted(m *config.Middleware) (filter.Filter, error) {
	var s *countedSettings
	switch v := m.Settings.(type) {
	case *countedSettings:
		s = v
	case *rebuiltSettings:
		s = (*countedSettings)(v)
	}
	p := s.File
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.Dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &countedFilter{content: string(b)}, nil
}

// TestReloadCarriesTypesThePipelineDoesNotKnow: a middleware type
// registered outside the shipped set gets its state carried over an
// unchanged reload and rebuilt when the file its Build reads changes,
// through filter.Reusable alone; one without Reusable is always rebuilt.
func TestReloadCarriesTypesThePipelineDoesNotKnow(t *testing.T) {
	dir := t.TempDir()
	keyFile(t, dir, "input.txt", "one")
	const yaml = "clusters: {a: {targets: [\"http://127.0.0.1:9001\"]}}\n" +
		"middleware:\n" +
		"  counted: {type: test_counted, file: input.txt}\n" + // relative to the config file
		"  rebuilt: {type: test_rebuilt, file: input.txt}\n" +
		"routes: [{name: r, match: {path: /*}, cluster: a, middleware: [counted, rebuilt]}]\n"
	build := func(prev *Snapshot) (*Snapshot, error) {
		cfg, err := config.Parse(filepath.Join(dir, "sluice.yaml"), []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		s, err := BuildFrom(cfg, prev)
		if err == nil {
			t.Cleanup(s.Close)
		}
		return s, err
	}
	mustBuild := func(prev *Snapshot) *Snapshot {
		t.Helper()
		s, err := build(prev)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	counted := func(s *Snapshot) *countedFilter { return s.Middleware("counted").(*countedFilter) }
	serve := func(s *Snapshot, n int) {
		for range n {
			x := &filter.Exchange{}
			x.Reset(nil)
			s.Middleware("counted").Request(x)
			s.Middleware("rebuilt").Request(x)
		}
	}

	first := mustBuild(nil)
	serve(first, 3)

	// Unchanged config and file: the very filter, its count kept.
	second := mustBuild(first)
	if counted(second) != counted(first) || counted(second).seen.Load() != 3 {
		t.Fatalf("unchanged instance not carried over (seen %d, want 3)", counted(second).seen.Load())
	}
	if second.Middleware("rebuilt") == first.Middleware("rebuilt") {
		t.Fatal("a type without filter.Reusable was carried over")
	}

	// Rewritten with the same content: still carried.
	keyFile(t, dir, "input.txt", "one")
	third := mustBuild(second)
	if counted(third) != counted(first) {
		t.Fatal("instance rebuilt though its file has the same content")
	}

	// New content: the fingerprint differs, Build reads the new file.
	keyFile(t, dir, "input.txt", "two")
	fourth := mustBuild(third)
	if counted(fourth) == counted(first) || counted(fourth).content != "two" || counted(fourth).seen.Load() != 0 {
		t.Fatalf("changed file not honoured: content %q, seen %d", counted(fourth).content, counted(fourth).seen.Load())
	}

	// File gone: not reusable, so Build runs and reports it; the serving
	// snapshot is left as it was.
	if err := os.Remove(filepath.Join(dir, "input.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := build(fourth); err == nil {
		t.Fatal("reload with the input file gone succeeded")
	}
	if counted(fourth).content != "two" {
		t.Fatal("failed reload changed the serving filter")
	}
}
