package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/pipeline"
)

// TestCheckWarnsOnMethodFallthrough pins the -check warning for a route
// that lets refused methods fall through to a less specific route with
// weaker middleware (issue 12, point 3). The config stays valid (exit 0):
// the opt-in may be intended, but it must not be silent.
func TestCheckWarnsOnMethodFallthrough(t *testing.T) {
	const head = `listen: 127.0.0.1:18999
admin: ""
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
middleware:
  keys: {type: api_key, consumers: [{id: ops, key_sha256: c4e43d5b036e666ab7c78c3971ecc458586a334f2c3171ba1979da452a6d2668}]}
  keys2: {type: api_key, header: X-Other-Key, consumers: [{id: ops, key_sha256: c4e43d5b036e666ab7c78c3971ecc458586a334f2c3171ba1979da452a6d2668}]}
routes:
`
	cases := []struct {
		name   string
		routes string
		want   []string // substrings of the warning; nil = no warning
	}{
		{"opt-in to an open catch-all warns, naming methods, route and middleware", `
  - {name: reports, match: {path: /api/reports/*, methods: [GET], method_fallthrough: true}, cluster: a, middleware: [keys]}
  - {name: all, match: {path: /*}, cluster: a}
`, []string{`:9:5: routes[0] "reports": method_fallthrough sends`, "sends POST, PUT, PATCH, DELETE, OPTIONS, TRACE requests for /api/reports/p ", `to route "all", which lacks middleware keys`}},
		{"a catch-all with other auth warns too", `
  - {name: reports, match: {path: /api/reports/:id, methods: [GET], method_fallthrough: true}, cluster: a, middleware: [keys]}
  - {name: all, match: {path: /api/*}, cluster: a, middleware: [keys2]}
`, []string{`"reports"`, "PUT", "requests for /api/reports/p ", `route "all", which lacks middleware keys`}},
		{"the catch-all runs the same middleware: no warning", `
  - {name: reports, match: {path: /api/reports/*, methods: [GET], method_fallthrough: true}, cluster: a, middleware: [keys]}
  - {name: all, match: {path: /*}, cluster: a, middleware: [keys]}
`, nil},
		{"no opt-in: a 405, no warning", `
  - {name: reports, match: {path: /api/reports/*, methods: [GET]}, cluster: a, middleware: [keys]}
  - {name: all, match: {path: /*}, cluster: a}
`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, head+strings.TrimPrefix(tc.routes, "\n"))
			var out bytes.Buffer
			if code := run([]string{"-check", "-config", file}, &out); code != 0 {
				t.Fatalf("exit %d; output:\n%s", code, out.String())
			}
			got := out.String()
			if tc.want == nil {
				if strings.Contains(got, "warning: ") {
					t.Fatalf("unexpected warning:\n%s", got)
				}
				return
			}
			if !strings.Contains(got, "warning: "+file) {
				t.Fatalf("no warning naming the file:\n%s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestReloadWarnsOnMethodFallthrough: a reload that introduces such a route
// logs the same warning (the reload still succeeds).
func TestReloadWarnsOnMethodFallthrough(t *testing.T) {
	const base = `listen: 127.0.0.1:18996
admin: ""
access_log: {enabled: false}
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
middleware:
  keys: {type: api_key, consumers: [{id: ops, key_sha256: c4e43d5b036e666ab7c78c3971ecc458586a334f2c3171ba1979da452a6d2668}]}
routes:
  - {name: all, match: {path: /*}, cluster: a}
`
	file := writeFile(t, base)
	fs, f := newFlags(io.Discard)
	if err := fs.Parse([]string{"-config", file}); err != nil {
		t.Fatal(err)
	}
	f.record(fs)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := pipeline.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	eng := engine.New(engine.Options{Listen: cfg.Listen}, snap) // never served: Swap is all reload needs
	g := newGateway(f, slog.New(slog.NewTextHandler(&logs, nil)), new(slog.LevelVar), eng, cfg, snap)
	defer g.closeSnapshots()
	opted := base + "  - {name: reports, match: {path: /api/reports/*, methods: [GET], method_fallthrough: true}, cluster: a, middleware: [keys]}\n"
	if err := os.WriteFile(file, []byte(opted), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := g.reload("test"); err != nil {
		t.Fatal(err)
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, `method_fallthrough sends POST`) || !strings.Contains(got, `to route \"all\", which lacks middleware keys`) {
		t.Fatalf("no fall-through warning on reload:\n%s", got)
	}
}
