-- bench/wrk/get.lua: plain GET of the URL's path, plus the shared percentile lines (summary.lua).
--   wrk -t1 -c64 -d10s --latency -s bench/wrk/get.lua http://127.0.0.1:18084/
-- No response() hook (it would cost client CPU); WRK_STATUS=1 adds per-status counts.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "summary.lua")
