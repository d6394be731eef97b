-- bench/wrk/bearer.lua: GET of the URL's path with "Authorization: Bearer <token>".
--   wrk -t1 -c64 -d10s --latency -s bench/wrk/bearer.lua http://127.0.0.1:18084/ -- "$TOKEN"
--   BENCH_TOKEN="$TOKEN" wrk -t1 -c64 -d10s --latency -s bench/wrk/bearer.lua http://127.0.0.1:18084/
-- The token is the first script argument (after --) or else env BENCH_TOKEN; without either the
-- script stops wrk with an error rather than measure 401s. WRK_STATUS=1 adds per-status counts.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "summary.lua")

function init(args)
   local token = args[1]
   if token == nil or token == "" then
      token = os.getenv("BENCH_TOKEN")
   end
   if token == nil or token == "" then
      error("bearer.lua: no token: pass it after -- or set BENCH_TOKEN")
   end
   -- wrk.init formats the (static) request after init returns, so the header is in every request.
   wrk.headers["Authorization"] = "Bearer " .. token
end
