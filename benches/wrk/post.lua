-- wrk script for benches/serve-load.sh: POSTs one JSON body, read from the
-- file named by WRK_BODY, to the URL's path on every request, and prints a
-- machine-readable RESULT line at the end.
--
-- With WRK_COUNT_STATUS=1 it also counts the statuses it gets: 200, 503,
-- and any other (the overload run must see only 200 and 503). Counting
-- makes wrk hand every response to Lua, which costs the generator CPU, so
-- the throughput runs leave it off (wrk's own non-2xx count still shows).

local path = os.getenv("WRK_BODY")
local file = path and io.open(path, "rb")
if not file then
   error("WRK_BODY must name the request body file")
end
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

if os.getenv("WRK_COUNT_STATUS") == "1" then
   function init(args)
      ok, shed, other = 0, 0, 0
   end

   function response(status, headers, body)
      if status == 200 then
         ok = ok + 1
      elseif status == 503 then
         shed = shed + 1
      else
         other = other + 1
      end
   end
end

function done(summary, latency, requests)
   local ok_n, shed_n, other_n = -1, -1, -1
   if os.getenv("WRK_COUNT_STATUS") == "1" then
      ok_n, shed_n, other_n = 0, 0, 0
      for _, t in ipairs(threads) do
         ok_n = ok_n + t:get("ok")
         shed_n = shed_n + t:get("shed")
         other_n = other_n + t:get("other")
      end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d"
         .. " connect=%d read=%d write=%d non2xx=%d timeout=%d"
         .. " status200=%d status503=%d status_other=%d\n",
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout,
      ok_n, shed_n, other_n))
end
