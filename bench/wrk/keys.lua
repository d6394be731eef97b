-- bench/wrk/keys.lua: GET of the URL's path with "X-Client-Key: k<i>", i cycling over BENCH_KEYS
-- distinct keys (default 10000), a different key on every request (rate-limit scopes).
--   BENCH_KEYS=10000 wrk -t1 -c64 -d10s --latency -s bench/wrk/keys.lua -H "X-Bench: keys" http://127.0.0.1:18084/
-- The requests are built once in init (request() only indexes a table), so the extra client CPU is
-- small. Threads start at spread-out offsets of the cycle. WRK_STATUS=1 adds per-status counts.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "summary.lua")

local n = math.floor(tonumber(os.getenv("BENCH_KEYS") or "") or 10000)
assert(n >= 1, "keys.lua: BENCH_KEYS must be >= 1")

local reqs, i = {}, 0

function init(args)
   -- Format one request with a marker as the key, then splice every key into it: the result keeps
   -- wrk's Host header and any -H headers exactly as wrk.format writes them.
   local marker = "\1KEY\1"
   wrk.headers["X-Client-Key"] = marker
   local req = wrk.format()
   local a, b = req:find(marker, 1, true)
   local head, tail = req:sub(1, a - 1), req:sub(b + 1)
   for k = 1, n do
      reqs[k] = head .. "k" .. (k - 1) .. tail
   end
   -- Golden-ratio offsets keep threads far apart in the cycle without knowing the thread count.
   i = math.floor(((thread_id or 1) - 1) * 0.6180339887 % 1 * n)
end

function request()
   i = i % n + 1
   return reqs[i]
end
