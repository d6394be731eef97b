-- bench/wrk/post.lua: POST a 1 KiB body (1023 x 'x' + "\n", Content-Length, application/octet-stream)
-- to the URL's path, plus the shared percentile lines (summary.lua).
--   wrk -t1 -c64 -d10s --latency -s bench/wrk/post.lua http://127.0.0.1:18084/
-- WRK_STATUS=1 adds per-status counts.

wrk.method = "POST"
wrk.body = string.rep("x", 1023) .. "\n"
wrk.headers["Content-Type"] = "application/octet-stream"

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "summary.lua")
