package engine

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/sluicehq/sluice/observe"
)

// Connection caps (limits.max_connections, limits.max_connections_per_ip)
// are checked once per accepted connection, never per request, so a short
// mutex on one of 64 shards is cheap enough there; the global count is an
// atomic. Every loop shares them (DESIGN §3.7).
//
// A connection past a cap is refused cleanly: the proxy answers it (a 503
// JSON error with Retry-After: 1 and Connection: close), written from
// OnOpen (gnet's OnOpen runs after the fd is registered, so Conn.Write goes
// straight to the socket, and whatever EAGAIN leaves is buffered and
// flushed by gnet), then it lingers like any closing connection (write side shut, input
// discarded, at most lingerTime) so a request the client already sent does
// not turn our close into a reset that destroys the 503 before it is read.
// Refused connections count neither against the caps nor as accepted.

// maxRefusedLingering bounds how many refused connections may linger at
// once; past it a refused connection is closed right after its 503 (the
// client may then see a reset), so a flood cannot hold file descriptors
// through the refusal path.
const maxRefusedLingering = 1024

// ipShards is the number of per-IP count shards (a power of two).
const ipShards = 64

// connCaps counts the client connections admitted under the caps. Any
// goroutine. The zero value is ready to use.
type connCaps struct {
	total     atomic.Int64 // admitted connections open now
	upstream  atomic.Int64 // upstream connections open or being dialed
	lingering atomic.Int64 // refused connections still lingering
	shards    [ipShards]ipShard
}

// ipShard holds the open-connection counts of the addresses hashed to it;
// an address leaves the map when its count falls to zero, so the map holds
// only peers with a connection open.
type ipShard struct {
	mu sync.Mutex
	m  map[netip.Addr]int32
	_  [40]byte // keep shards on separate cache lines
}

// refusal says why a connection was refused.
type refusal uint8

const (
	admitted     refusal = iota
	refusedMax           // limits.max_connections
	refusedPerIP         // limits.max_connections_per_ip
)

// admit counts a new connection from addr against max (0 = no cap), perIP
// (0 = off) and the descriptor budget (clients plus upstream connections;
// 0 = unknown) and reports whether it may stay. Per-address counts are
// kept even when perIP is 0, so a reload that turns the cap on sees the
// connections already open. An invalid addr (not TCP) is only counted
// globally. Any goroutine.
func (k *connCaps) admit(addr netip.Addr, max, perIP, budget int) refusal {
	if n := k.total.Add(1); max > 0 && n > int64(max) || budget > 0 && n+k.upstream.Load() > int64(budget) {
		k.total.Add(-1)
		return refusedMax
	}
	if !addr.IsValid() {
		return admitted
	}
	s := k.shard(addr)
	s.mu.Lock()
	n := s.m[addr]
	if perIP > 0 && int(n) >= perIP {
		s.mu.Unlock()
		k.total.Add(-1)
		return refusedPerIP
	}
	if s.m == nil {
		s.m = make(map[netip.Addr]int32)
	}
	s.m[addr] = n + 1
	s.mu.Unlock()
	return admitted
}

// release forgets a connection admit admitted. Any goroutine.
func (k *connCaps) release(addr netip.Addr) {
	k.total.Add(-1)
	if !addr.IsValid() {
		return
	}
	s := k.shard(addr)
	s.mu.Lock()
	if n := s.m[addr] - 1; n > 0 {
		s.m[addr] = n
	} else {
		delete(s.m, addr)
	}
	s.mu.Unlock()
}

// openUpstream counts an upstream connection about to be dialed against the
// descriptor budget (0 = unknown) and reports whether it may be. The two
// counters are read apart, so racing loops may overshoot the budget by one
// connection each; fdReserve absorbs that. Any goroutine.
func (k *connCaps) openUpstream(budget int) bool {
	if n := k.upstream.Add(1); budget > 0 && n+k.total.Load() > int64(budget) {
		k.upstream.Add(-1)
		return false
	}
	return true
}

// holdUpstream counts an upstream descriptor that is already open, past
// any budget: a response stream's dup of a discarded connection, until the
// stream closes it (closeUpstream). Any goroutine.
func (k *connCaps) holdUpstream() { k.upstream.Add(1) }

// closeUpstream forgets a connection openUpstream or holdUpstream counted.
// Any goroutine.
func (k *connCaps) closeUpstream() { k.upstream.Add(-1) }

// perIP returns the connections open from addr now. Any goroutine.
func (k *connCaps) perIP(addr netip.Addr) int {
	s := k.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.m[addr])
}

// shard picks addr's shard with FNV-1a over its 16-byte form.
func (k *connCaps) shard(addr netip.Addr) *ipShard {
	b := addr.As16()
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return &k.shards[h&(ipShards-1)]
}

// admit applies the connection caps of the serving snapshot to the client
// connection s just accepted and reports whether it may stay; the proxy
// answers one refused. Loop only.
func (lp *loop) admit(s *sock) bool {
	snap := lp.e.px.Snapshot()
	why := lp.e.caps.admit(s.addr, snap.MaxConnections, snap.MaxConnectionsPerIP, lp.e.fdBudget)
	if why == admitted {
		s.counted = true
		return true
	}
	if why == refusedMax {
		observe.ClientRefusedMax.Inc()
	} else {
		observe.ClientRefusedPerIP.Inc()
	}
	return false
}

// fdReserve is what the descriptor budget leaves for everything but client
// and upstream connections: refused connections lingering, listeners, log
// files, the admin API, and the overshoot of racing loops.
const fdReserve = maxRefusedLingering + 256

// fdBudget is how many client and upstream connections, together, the
// process's descriptor limit carries. gnet v2.9.7 treats EMFILE in accept as
// fatal and stops the whole engine (TestAcceptEMFILE…), so connections must
// be refused well before accept could fail: a client past the budget gets
// the max_connections 503, and a request that would need a new upstream
// connection past it gets a 503 too. Counting descriptors in use, not two
// per client, lets idle keep-alive clients (which hold no upstream
// connection) use the whole budget, as nginx's worker_connections does.
// (Go raises the soft RLIMIT_NOFILE to the hard limit at start.)
func fdBudget() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0 // unknown: no descriptor budget
	}
	return budgetFor(lim.Cur)
}

// budgetFor is fdBudget for a descriptor limit of nofile.
func budgetFor(nofile uint64) int {
	if nofile > 1<<30 {
		nofile = 1 << 30
	}
	return max(int(nofile)-fdReserve, 32)
}
