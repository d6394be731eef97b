// Package limiter implements keyed token buckets for rate limiting on the
// request path: lock-free, allocation-free and with memory fixed at
// construction, whatever the number of distinct keys clients make up.
//
// # Algorithm
//
// Each bucket is kept as one number, its theoretical arrival time (TAT, the
// generic cell rate algorithm): the instant at which the bucket will be full
// again. A request at time now is admitted when max(TAT, now) + T - now <= τ,
// where T = Per/Rate is the time one token takes to come back and τ = Burst·T
// is the bucket's size in time; admitting it moves TAT to max(TAT, now) + T.
// This is exactly a token bucket of Burst tokens refilled at Rate per Per,
// with nanosecond refill math and no floating point: tokens left =
// floor((τ - (TAT - now)) / T). T is rounded up to a whole nanosecond, and
// rates faster than one token per microsecond per key are refused, so the
// rounding costs less than 0.1% of the rate (and never admits more than
// configured). A rejected request does not consume anything.
//
// # Memory
//
// Buckets live in a set-associative table allocated once by New: ⌈MaxKeys/8⌉
// sets of 8 slots, each slot a 64-bit key tag and a 64-bit packed state, so
// BytesPerKey = 16 bytes per key: the default 65,536 keys take 1 MiB, a
// million keys 16 MiB. The table never grows. A key is hashed to one set
// (multiply-shift on the 64-bit key) and may sit in any of its 8 slots.
//
// When a new key arrives at a full set it takes the least useful slot: an
// empty one, else a full bucket (an idle, completely refilled one), else the
// slot of a key seen only once, else the fullest bucket of a key that has
// come back. Evicting a full bucket loses nothing, since a key that comes
// back would get a full bucket anyway. Evicting a partly drained bucket
// hands its key a full bucket when it returns, a gift of at most the tokens
// it had spent: this is the accepted relaxation of a bounded table. It cannot
// be aimed: a flood of made-up keys sends one request per key, so its keys
// are all seen once and evict each other, never a key that has come back,
// such as a client that has been refused. (Fullness alone cannot tell them
// apart: with a burst of 1, a made-up key's bucket is as empty as a limited
// client's and needs longer to refill, so each slot records whether its key
// came back.) A flood that sends every made-up key twice pays two requests
// per key and, once it fills a set with such keys, may evict the fullest of
// them; a MaxKeys comfortably above the number of keys active within one
// refill period (τ) makes evictions of honest buckets irrelevant.
//
// # Concurrency
//
// Allow is safe from any goroutine. A slot's state word packs the TAT (59
// bits of nanoseconds, compared modulo 2^59, so about 9 years of wrap-free
// range), the came-back bit, a 3-bit generation and a lock bit. Admitting a request is one
// compare-and-swap on the state word. Replacing a slot's key locks the
// state word with a CAS, stores the new key, then stores the new state with
// the next generation, so a goroutine racing on the old key either sees the
// lock or fails its CAS and looks again. Two goroutines that insert the same
// new key at the same instant may each give it a slot; the next look-up that
// sees both keeps the more drained copy and empties the other, so such a race
// admits at most one extra request per racing goroutine. A look-up that
// finds its slot locked retries; should the hand-over stall (its goroutine
// descheduled between two stores), it gives up after a few dozen tries and
// takes another slot rather than wait.
//
// Keys are 64-bit hashes chosen by the caller (xxhash of the scope: client
// IP, route, consumer …), so no string is built per request. The key 0 is
// reserved for empty slots and is folded onto another value.
package limiter
