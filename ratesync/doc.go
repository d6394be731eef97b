// Package ratesync shares a rate limit across gateway instances through
// Redis (`rate_limit` with `scope: cluster`) without a Redis round trip on
// the request path.
//
// # Algorithm
//
// Every instance keeps its local limiter (package limiter: one GCRA
// bucket per key, rate R, burst B) and decides every request against it on
// the event loop, as a local limit does. Redis holds one more bucket per
// key, the cluster's: its theoretical arrival time (TAT, in Redis's clock).
//
// The loop also counts, per key, the requests it admitted since the last
// round in a fixed, lock-free table (pending.go). A goroutine per limit
// runs a round every sync interval Δ: it drains the table and, in one
// pipelined round trip, runs a Lua script per key (scripts.go) that
// charges the key's admitted count to the cluster bucket,
// TAT = max(TAT, now) + n·T, and returns the cluster's debt TAT - now. The
// instance then raises its local bucket to that debt plus what it admitted
// since the drain (limiter.Raise: the bucket never gets fuller, only
// emptier). So every local bucket is the cluster bucket as of at most one
// round ago, plus the instance's own requests since. An instance keeps
// pulling a key for seven rounds after its last request there (and while
// it refuses it), so its bucket stays in step for clients that move
// between instances. The same round trip refreshes the instance's entry
// in a sorted set of live instances and counts them.
//
// # Error bound
//
// Let L be the age of an instance's view of the cluster bucket: at most Δ
// plus one round trip. Requests the cluster admitted that some instance
// has not heard of are at most what the other instances admitted within L.
// While a key is limited each local bucket refills at R, so that is at
// most (N-1)·R·L for N instances: the cluster may run ahead of one bucket
// of rate R by that much at any moment, and the excess is paid back from
// the next refills (the cluster bucket's debt exceeds B, and every local
// bucket is raised to it). Over a window W the admitted count is R·W (+B
// after a quiet spell) plus at most (N-1)·R·L, which does not grow with
// W: with R = 100/s, Δ = 50 ms, N = 3, about 11 requests, 2% of a 5 s
// window and 0.4% of 30 s.
//
// One case is larger: a key an instance has not seen for more than seven
// rounds starts from that instance's local bucket, which may be full, so
// that instance may admit up to min(B, its arrival rate × L) for the key
// before its first round. Keys are hashed alike on every instance (seeds
// derived from the Redis password, see filter/ratelimit), so this is the
// only way a client gains by hopping between instances, and it costs the
// client its burst at most once per instance per idle spell.
//
// The Redis TAT is a double of microseconds, rounded once per key per
// round, not per request; it uses Redis's clock, so the instances' clocks
// need not agree. The reply is aged by half the round trip before it is
// applied locally.
//
// # Redis down or slow
//
// A round that fails or outlasts the timeout puts the limit in its
// on_failure mode until a round succeeds. open (the default): each
// instance enforces its share, R/N over B/N, with N the live instances it
// last counted (redis.instances before the first contact); a request
// then costs N tokens of the local bucket (limiter.AllowN), so no second
// table is needed and the bucket's state carries over both ways. With
// round-robin balancing the cluster keeps admitting about R. The requests
// admitted meanwhile are not pushed when Redis returns (that would charge
// the cluster for a whole outage at once); the buckets simply resume from
// their local state. closed: the limit answers 503 {"error":"rate limit
// unavailable"} with Retry-After: 1 instead. Each change of state is
// logged (and a reminder every 30 s while down), counted in
// sluice_ratelimit_redis_up and sluice_ratelimit_sync_errors_total, and
// shown in the admin API's /readyz checks; the gateway stays ready.
//
// # Client
//
// go-redis v9: one UniversalClient serves a single server, Sentinel
// (MasterName) and Cluster (IsClusterMode) from the same options, with
// ACL user and password. On the syncer's work, one pipelined round of
// EVALSHA over K keys (bench/redisclient, same machine, Redis 7.0), it
// took 48-57 µs for K=1 and 0.69 ms for K=100 against rueidis's 94-138 µs
// and 0.97-1.05 ms; rueidis was ahead at K=1000 (6.7-7.5 ms against
// 7.7-9.1 ms) with a quarter of the allocations. Either is off the loops
// once per interval; go-redis wins on the common sizes and on fit.
//
// # Costs
//
// On the loop: one atomic load (the mode) and one compare-and-swap in the
// pending table per request, beside the limiter's own; no allocation, no
// lock, no channel. Off the loop: one round trip per limit per Δ carrying
// one script call per key active in the last seven rounds.
package ratesync
