package ratesync

import "github.com/redis/go-redis/v9"

// takeScript is the cluster-wide bucket, one Redis key per limited key:
// its value is the GCRA theoretical arrival time (TAT) in microseconds of
// Redis's own clock, as a float (exact to well under a microsecond at
// today's epoch, and rounded once per key per round, not per token).
//
// KEYS[1] the bucket; ARGV[1] requests admitted by the caller since its
// last round (0: only read); ARGV[2] microseconds per token. It charges
// the requests unconditionally (they were admitted already) and returns
// the bucket's debt, TAT - now in microseconds: how far the cluster as a
// whole has drawn it down. The key expires a second after the bucket is
// full again, when forgetting it loses nothing. Redis time keeps the
// instances' clocks out of the count.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local n = tonumber(ARGV[1])
if n > 0 then
  tat = tat + n * tonumber(ARGV[2])
  redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return math.floor(tat - now)
`)

// heartbeatScript counts the live instances of one limit: KEYS[1] is a
// sorted set of instance IDs scored by their last round (Redis time, ms);
// ARGV[1] is the caller's ID, ARGV[2] how long (ms) an instance counts as
// alive after its last round. Returns the number alive, the caller
// included.
var heartbeatScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local alive = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - alive)
redis.call('PEXPIRE', KEYS[1], alive * 2)
return redis.call('ZCARD', KEYS[1])
`)
