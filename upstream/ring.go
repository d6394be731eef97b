package upstream

import (
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// The consistent-hash ring: every target owns many points on a 64-bit
// circle (virtual nodes, in proportion to its weight) and a key belongs to
// the first point at or after it. Adding or removing a target only moves
// the keys next to its points, about 1/N of them, and since points are
// hashed from the target's address, a reload that keeps a target keeps its
// keys.

const (
	// vnodesPerWeight is how many points a weight-1 target gets; enough for
	// each target's share to land within a few percent of its weight.
	vnodesPerWeight = 160
	// maxRing caps the ring (and its build time) for big weighted clusters;
	// above it every target's points are scaled down alike.
	maxRing = 1 << 17
)

type ring struct {
	points []uint64 // sorted
	owners []int32  // owners[i] indexes Cluster.Targets for points[i]
}

func buildRing(targets []*Target) ring {
	total := 0
	for _, t := range targets {
		total += max(t.Weight, 1) * vnodesPerWeight
	}
	scale := 1.0
	if total > maxRing {
		scale = float64(maxRing) / float64(total)
	}
	type point struct {
		h     uint64
		owner int32
	}
	pts := make([]point, 0, min(total, maxRing+len(targets)))
	for i, t := range targets {
		n := max(int(float64(max(t.Weight, 1)*vnodesPerWeight)*scale), 1)
		for v := range n {
			pts = append(pts, point{xxhash.Sum64String(t.Addr + "#" + strconv.Itoa(v)), int32(i)})
		}
	}
	// Sort by hash, ties by address so the ring does not depend on the
	// order targets are listed in.
	slices.SortFunc(pts, func(a, b point) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		if targets[a.owner].Addr < targets[b.owner].Addr {
			return -1
		}
		return 1
	})
	r := ring{points: make([]uint64, len(pts)), owners: make([]int32, len(pts))}
	for i, p := range pts {
		r.points[i], r.owners[i] = p.h, p.owner
	}
	return r
}

// find returns the index of the first point at or after key, wrapping
// around to 0. O(log points); no allocation.
func (r *ring) find(key uint64) int {
	lo, hi := 0, len(r.points)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.points[mid] < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(r.points) {
		return 0
	}
	return lo
}
