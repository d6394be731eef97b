package proxy

import (
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/upstream"
)

// Retiring the pools of replaced clusters. A reload that changes a cluster
// builds a new *upstream.Cluster with new targets (one that leaves it alone
// carries the old one over, pipeline/carry.go), and each loop's pools are
// keyed by target, so the old targets' pools are orphaned by the swap: no
// new request picks them, only requests already routed on the old snapshot
// may. Left to the idle timeout (90 s by default), their keep-alive
// connections piled up across reloads and counted against the descriptor
// budget until new connections were refused (issue 12: 105,444 of 480,151
// requests got 503 "too many connections" over 30 reloads). So when a
// snapshot is swapped in, each loop closes the idle connections of every
// pool whose target is not in the new snapshot, and from then on such a
// pool closes each connection when its exchange ends instead of parking it.

// RetirePools retires this loop's pools whose target the serving snapshot
// does not use, once per snapshot. The transport calls it on every loop
// after Proxy.Swap; the sweep calls it too, so a swap whose call was lost
// is caught within a tick. Loop only.
func (lp *Worker) RetirePools() {
	snap := lp.e.Snapshot()
	if snap == lp.poolsSnap {
		return
	}
	lp.poolsSnap = snap
	for t, p := range lp.pools {
		if !p.retired && !serves(snap, t) {
			p.retire()
		}
	}
}

// serves reports whether snap routes to t: t's cluster is snap's cluster of
// that name (a carried-over cluster is the same object). Any goroutine.
func serves(snap *pipeline.Snapshot, t *upstream.Target) bool {
	return snap.Clusters[t.Cluster.Name] == t.Cluster
}

// retire closes the pool's idle connections and makes it close the rest as
// their exchanges end (put). Loop only.
func (p *pool) retire() {
	p.retired = true
	for len(p.idle) > 0 {
		p.idle[len(p.idle)-1].discard() // removes itself from p.idle
	}
}
