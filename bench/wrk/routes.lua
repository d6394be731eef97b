-- bench/wrk/routes.lua: GET /svc<i>/items/<i>, i cycling over 0..BENCH_ROUTES-1 (default 100), a
-- different route on every request (the 100-route config). The URL's path is ignored.
--   BENCH_ROUTES=100 wrk -t1 -c64 -d10s --latency -s bench/wrk/routes.lua http://127.0.0.1:18084/
-- The item id is the route index (routers extract it, nobody reads it). The requests are built
-- once in init, so request() only indexes a table. WRK_STATUS=1 adds per-status counts.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "summary.lua")

local n = math.floor(tonumber(os.getenv("BENCH_ROUTES") or "") or 100)
assert(n >= 1, "routes.lua: BENCH_ROUTES must be >= 1")

local reqs, i = {}, 0

function init(args)
   for k = 1, n do
      local r = k - 1
      reqs[k] = wrk.format(nil, "/svc" .. r .. "/items/" .. r)
   end
   -- Golden-ratio offsets keep threads apart in the cycle without knowing the thread count.
   i = math.floor(((thread_id or 1) - 1) * 0.6180339887 % 1 * n)
end

function request()
   i = i % n + 1
   return reqs[i]
end
