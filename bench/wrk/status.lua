-- bench/wrk/status.lua: plain GET of the URL's path that counts every response status;
-- done() prints the percentile lines and one "status <code>: <count>" line per status seen.
--   wrk -t1 -c64 -d10s --latency -s bench/wrk/status.lua http://127.0.0.1:18084/
-- The response() hook costs a few % client CPU: measure throughput with get.lua.

count_statuses = true

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "summary.lua")
