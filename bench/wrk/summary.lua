-- bench/wrk/summary.lua: the shared done() of the bench/wrk scripts (not a wrk script itself).
-- A script loads it, so that it is found next to the script whatever the working directory, with
--   local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
--   dofile(dir .. "summary.lua")
-- After wrk's own --latency output, done() prints (bench/report parses these lines):
--   percentile <p> <us>      one line each for p = 50 75 90 95 99 99.9 99.99, integer microseconds
--   status <code>: <count>   one line per status seen, only when statuses were counted
-- Counting needs a response() hook, and with one defined wrk parses every response in Lua (a few %
-- more client CPU), so response() exists only with env WRK_STATUS=1 or when the script sets the
-- global count_statuses = true before loading this file (status.lua).
-- It defines the globals setup, done and (when counting) response, so scripts must not; each
-- thread's global thread_id (1, 2, ...) is set in setup, before that thread's init(args) runs.

local percentiles = { "50", "75", "90", "95", "99", "99.9", "99.99" }
local threads = {}

count_statuses = count_statuses or os.getenv("WRK_STATUS") == "1"
statuses = {} -- per thread (every wrk thread has its own Lua state); summed in done()

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

if count_statuses then
   function response(status, headers, body)
      statuses[status] = (statuses[status] or 0) + 1
   end
end

function done(summary, latency, requests)
   for _, p in ipairs(percentiles) do
      io.write(string.format("percentile %s %d\n", p, math.floor(latency:percentile(tonumber(p)) + 0.5)))
   end
   if not count_statuses then
      return
   end
   local total, codes = {}, {}
   for _, t in ipairs(threads) do
      for code, n in pairs(t:get("statuses") or {}) do
         if total[code] == nil then
            table.insert(codes, code)
         end
         total[code] = (total[code] or 0) + n
      end
   end
   table.sort(codes)
   for _, code in ipairs(codes) do
      io.write(string.format("status %d: %d\n", code, total[code]))
   end
end
