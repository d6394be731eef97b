package filter

import (
	"os"
	"path/filepath"
	"testing"
)

// inputsOf is settings whose Build would read the given files (relative to
// dir) and environment variables.
type inputsOf struct {
	dir   string
	files []string
	env   []string
}

func (s inputsOf) ReloadInputs(in *Inputs) {
	for _, f := range s.files {
		in.File(s.dir, f)
	}
	for _, e := range s.env {
		in.Env(e)
	}
}

func TestFingerprintInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ab", "ab")
	write("a", "a")
	write("b", "b")
	write("empty", "")
	t.Setenv("FILTER_RELOAD_TEST", "v")

	fp := func(s any) (Fingerprint, bool) { return FingerprintInputs(s) }
	if _, ok := fp(struct{}{}); ok {
		t.Error("settings without Reusable are reusable")
	}
	if _, ok := fp(nil); ok {
		t.Error("nil settings are reusable")
	}
	none, ok := fp(inputsOf{})
	if !ok {
		t.Fatal("settings reading nothing are not reusable")
	}
	if again, _ := fp(inputsOf{}); again != none {
		t.Error("two fingerprints of nothing differ")
	}
	for _, bad := range []inputsOf{
		{dir: dir, files: []string{"missing"}},
		{env: []string{"FILTER_RELOAD_TEST_UNSET"}},
	} {
		if _, ok := fp(bad); ok {
			t.Errorf("%+v: reusable though an input cannot be read", bad)
		}
	}
	// Inputs never run into each other: "ab"+"" differs from "a"+"b".
	joined, _ := fp(inputsOf{dir: dir, files: []string{"ab", "empty"}})
	split, _ := fp(inputsOf{dir: dir, files: []string{"a", "b"}})
	if joined == split {
		t.Error("two files' contents run into each other")
	}
	abs, _ := fp(inputsOf{files: []string{filepath.Join(dir, "ab")}})
	rel, _ := fp(inputsOf{dir: dir, files: []string{"ab"}})
	if abs != rel {
		t.Error("a relative path is not resolved against dir")
	}
	env1, _ := fp(inputsOf{env: []string{"FILTER_RELOAD_TEST"}})
	t.Setenv("FILTER_RELOAD_TEST", "w")
	if env2, _ := fp(inputsOf{env: []string{"FILTER_RELOAD_TEST"}}); env1 == env2 {
		t.Error("a changed variable keeps its fingerprint")
	}
}
