package upstream

import (
	"strings"
	"testing"
)

func TestPickFollowsWeights(t *testing.T) {
	a := &Target{Addr: "a", Weight: 3}
	b := &Target{Addr: "b", Weight: 1}
	c := NewCluster("x", []*Target{a, b})
	counts := map[string]int{}
	seq := ""
	for range 8 {
		t := c.Pick()
		counts[t.Addr]++
		seq += t.Addr
	}
	if counts["a"] != 6 || counts["b"] != 2 {
		t.Fatalf("counts %v, want a=6 b=2", counts)
	}
	// Smooth interleaving: never "bb", never four a's in a row.
	if strings.Contains(seq+seq, "bb") || strings.Contains(seq+seq, "aaaa") {
		t.Fatalf("sequence %s is not interleaved", seq)
	}
	if a.Cluster != c || b.Cluster != c {
		t.Fatal("targets must point back to their cluster")
	}
}

func BenchmarkPick(b *testing.B) {
	c := NewCluster("x", []*Target{{Addr: "a", Weight: 2}, {Addr: "b", Weight: 1}})
	b.ReportAllocs()
	for b.Loop() {
		c.Pick()
	}
}
