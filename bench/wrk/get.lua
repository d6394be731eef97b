-- wrk -s bench/wrk/get.lua: plain GET of the URL's path; prints "status <code>: <count>"
-- lines in done(), which bench/report counts (every non-2xx is an error).
-- Defining response() makes wrk hand every response to Lua, which costs client CPU:
-- run.sh uses this script only with WRK_LUA=1.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {} -- global: read back with thread:get in done()
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total, codes = {}, {}
   for _, t in ipairs(threads) do
      for code, n in pairs(t:get("statuses")) do
         if total[code] == nil then table.insert(codes, code) end
         total[code] = (total[code] or 0) + n
      end
   end
   table.sort(codes)
   for _, code in ipairs(codes) do
      io.write(string.format("status %d: %d\n", code, total[code]))
   end
end
