package main

import (
	"runtime"
	"testing"
)

// TestProcsFor: one spare P over the loops, unless the environment sets
// GOMAXPROCS or there already is one.
func TestProcsFor(t *testing.T) {
	cur := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		name  string
		loops int
		env   string
		want  int
		set   bool
	}{
		{"loops = GOMAXPROCS: one more", cur, "", cur + 1, true},
		{"more loops than Ps: loops + 1", cur + 3, "", cur + 4, true},
		{"the operator's GOMAXPROCS wins", cur, "1", 0, false},
		{"a spare P already (or no loops)", cur - 1, "", 0, false},
	} {
		got, set := procsFor(tc.loops, tc.env)
		if set != tc.set || set && got != tc.want {
			t.Errorf("%s: procsFor(%d, %q) = %d, %v; want %d, %v", tc.name, tc.loops, tc.env, got, set, tc.want, tc.set)
		}
	}
}
