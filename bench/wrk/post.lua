-- wrk -s bench/wrk/post.lua: POST a 1 KiB body (Content-Length) to the URL's path;
-- prints "status <code>: <count>" lines in done(), which bench/report counts.

wrk.method = "POST"
wrk.body = string.rep("x", 1023) .. "\n"
wrk.headers["Content-Type"] = "application/octet-stream"

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
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
