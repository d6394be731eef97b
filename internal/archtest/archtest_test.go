package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sluicehq/sluice"

// layer ranks the module's packages as docs/ARCHITECTURE.md §2 draws them:
// a package may import only packages of a lower rank (and the standard
// library and third-party modules, which the rules below narrow). A new
// package must be given its rank here.
var layer = map[string]int{
	"http1": 1, "router": 1, "limiter": 1, "breaker": 1, "config": 1, "observe": 1,
	"internal/promtext": 1, "internal/archtest": 1, "internal/redistest": 1,
	"auth": 2, "upstream": 2, "internal/demo": 2, "ratesync": 2,
	"filter":     3,
	"filter/*":   4, // every middleware type; filter/builtin imports them all
	"pipeline":   5,
	"proxy":      6,
	"engine":     7,
	"admin":      7,
	"":           8, // the module root (embedded assets)
	"cmd/sluice": 9,
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive
}

// listPackages runs go list over the module.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: not the module", len(pkgs))
	}
	return pkgs
}

// local is path relative to the module ("" for the root), ok false for a
// package outside it.
func local(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// rank is the layer of a module package.
func rank(rel string) (int, bool) {
	if r, ok := layer[rel]; ok {
		return r, true
	}
	if strings.HasPrefix(rel, "filter/") {
		return layer["filter/*"], true
	}
	return 0, false
}

// TestImportsPointDown checks every import between the module's packages
// against the layers: arrows only point down.
func TestImportsPointDown(t *testing.T) {
	for _, p := range listPackages(t) {
		from, _ := local(p.ImportPath)
		rf, ok := rank(from)
		if !ok {
			t.Errorf("package %q has no layer in archtest: give it one (docs/ARCHITECTURE.md §2)", from)
			continue
		}
		for _, imp := range p.Imports {
			to, ok := local(imp)
			if !ok {
				continue
			}
			rt, _ := rank(to)
			// filter/builtin gathers the types: the one import inside a layer.
			if rt >= rf && !(from == "filter/builtin" && strings.HasPrefix(to, "filter/")) {
				t.Errorf("%s (layer %d) imports %s (layer %d): arrows must point down", from, rf, to, rt)
			}
		}
	}
}

// TestPackageRules checks the rules the split of issue 13 rests on.
func TestPackageRules(t *testing.T) {
	forbid := func(p pkg, list []string, why string, bad func(string) bool) {
		for _, imp := range list {
			if bad(imp) {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
			}
		}
	}
	is := func(rel string) func(string) bool {
		return func(imp string) bool { return imp == module+"/"+rel || strings.HasPrefix(imp, module+"/"+rel+"/") }
	}
	seen := map[string]bool{}
	for _, p := range listPackages(t) {
		rel, _ := local(p.ImportPath)
		seen[rel] = true
		switch {
		case rel == "proxy":
			forbid(p, p.Deps, "the exchange reaches sockets only through proxy/transport.go", func(imp string) bool {
				return strings.HasPrefix(imp, "github.com/panjf2000/gnet") || strings.HasPrefix(imp, "golang.org/x/sys")
			})
			forbid(p, p.Deps, "proxy is below the transport", is("engine"))
		case rel == "engine":
			forbid(p, p.Imports, "the transport is configured through the snapshot, not the config file", is("config"))
			forbid(p, p.Imports, "the admin API sits beside the engine, not under it", is("admin"))
			forbid(p, p.Imports, "the engine knows filters only through proxy", is("filter"))
		case rel == "filter" || strings.HasPrefix(rel, "filter/"):
			for _, up := range []string{"pipeline", "proxy", "engine", "admin"} {
				forbid(p, p.Deps, "a filter sees the exchange only through filter.Exchange", is(up))
			}
		case rel == "pipeline":
			forbid(p, p.Imports, "pipeline knows middleware types only through the registry", func(imp string) bool {
				return strings.HasPrefix(imp, module+"/filter/")
			})
		}
		if rel != "engine" {
			forbid(p, p.Imports, "engine is the only package that imports gnet", func(imp string) bool {
				return strings.HasPrefix(imp, "github.com/panjf2000/gnet")
			})
		}
	}
	for _, want := range []string{"proxy", "engine", "pipeline", "filter"} {
		if !seen[want] {
			t.Errorf("go list did not list %s: the rules checked nothing", want)
		}
	}
}
