package proxy

import (
	"time"

	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/upstream"
)

// pool is one loop's keep-alive connections to one target. Idle connections
// stay registered on the loop, so a peer that closes one is noticed (OnClose)
// and it leaves the pool before anyone can pick it. Loop only.
type pool struct {
	lp      *Worker
	target  *upstream.Target
	idle    []*upConn // LIFO: the most recently used conn is the warmest
	dialing int
	busy    int
	// retired: the serving snapshot no longer routes to target, so no
	// connection is parked here (retire.go). Set once, never cleared: a
	// snapshot carries clusters over only from the one it replaces
	// (pipeline.BuildFrom), so a dropped target never serves again.
	retired bool

	m                *observe.ClusterMetrics
	tm               *observe.TargetMetrics
	pubIdle, pubBusy int // what publish last added to the cluster's gauges
}

// publish moves the cluster's and the target's connection gauges by what
// changed in this pool since the last sweep: gauges lag by at most a tick,
// and the hot path touches no shared counter for them. Loop only.
func (p *pool) publish() {
	if d := len(p.idle) - p.pubIdle; d != 0 {
		p.m.Idle.Add(float64(d))
		p.tm.Idle.Add(float64(d))
		p.pubIdle = len(p.idle)
	}
	if d := p.busy - p.pubBusy; d != 0 {
		p.m.Active.Add(float64(d))
		p.tm.Active.Add(float64(d))
		p.pubBusy = p.busy
	}
}

// get pops an idle connection, or nil. Loop only.
func (p *pool) get() *upConn {
	for n := len(p.idle); n > 0; n = len(p.idle) {
		up := p.idle[n-1]
		if up.closed {
			up.teardown() // closed, teardown pending: removes it
			continue
		}
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		up.idleAt = -1
		p.busy++
		return up
	}
	return nil
}

// put parks a connection whose last exchange ended cleanly. Loop only.
func (p *pool) put(up *upConn) {
	if up.closed {
		return // whoever closed it already counted it out of busy
	}
	p.busy--
	// The idle cap is enforced by the sweep, on connections idle for
	// surplusIdle: closing the surplus at once would, under a steady load with
	// more requests in flight than the cap, close a connection every response
	// and dial a new one the next request (nginx's keepalive does exactly that).
	if p.target.Cluster.MaxIdle == 0 || p.retired || p.lp.e.draining.Load() {
		p.busy++ // discard counts a non-idle conn out of busy
		up.discard()
		return
	}
	up.idleAt = len(p.idle)
	up.idleSince = p.lp.e.clock()
	p.idle = append(p.idle, up)
}

// remove takes an idle connection out of the pool (it closed). Loop only.
func (p *pool) remove(up *upConn) {
	i := up.idleAt
	if i < 0 || i >= len(p.idle) || p.idle[i] != up {
		return
	}
	last := len(p.idle) - 1
	p.idle[i] = p.idle[last]
	p.idle[i].idleAt = i
	p.idle[last] = nil
	p.idle = p.idle[:last]
	up.idleAt = -1
}

// surplusIdle is how long a connection above the idle cap may sit unused
// before the sweep closes it. Long enough that a steady load never closes a
// connection it will want again a moment later (measured: at one tick, 256
// clients over a 64-connection cap still redialed enough to triple p99).
const surplusIdle = time.Second

// sweep closes idle connections past the idle timeout, and those above the
// idle cap that sat unused for surplusIdle. Loop only.
func (p *pool) sweep(now int64, draining bool) {
	limit := int64(p.target.Cluster.IdleTimeout)
	surplus := len(p.idle) - p.target.Cluster.MaxIdle
	for i := 0; i < len(p.idle); {
		up := p.idle[i]
		idle := now - up.idleSince
		if draining || idle >= limit || (surplus > 0 && idle >= int64(surplusIdle)) {
			up.discard() // removes itself from p.idle
			surplus--
			continue
		}
		i++
	}
}

// dial opens a new connection for ex through the transport, with the
// cluster's connect timeout. The pairing finishes in upConn.Opened (or
// DialFailed), never by waiting here. Loop only.
func (p *pool) dial(ex *exchange) {
	up := &upConn{lp: p.lp, pool: p, idleAt: -1}
	up.attach(ex)
	// Watchdog for the dial itself; opened() replaces it with the response timeout.
	ex.deadline = p.lp.e.clock() + int64(p.target.Cluster.ConnectTimeout+time.Second)
	p.dialing++
	p.m.Dials.Inc()
	p.lp.loop.Dial(p.target.Addr, p.target.Cluster.ConnectTimeout, up)
}
