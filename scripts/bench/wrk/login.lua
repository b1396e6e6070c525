-- wrk script for the load section of `make bench`: logins against getLoginTicket --web or the
-- Node HTTP function, each with a code never used before.
--
--   wrk -t1 -c64 -d10s -s login.lua http://127.0.0.1:PORT/ -- RUN_TAG DELAY_MS
--
-- Why a fresh code per request: the mock WeChat answers 40163 to a code it has seen, and
-- getLoginTicket replays its cached result for a repeated code, so reusing codes would measure
-- neither. Each code is `slow-<DELAY_MS>x<RUN_TAG>t<thread>n<count>.1`: the mock's `slow-<ms>`
-- codes answer after <ms> milliseconds (the in-region round trip to WeChat), and RUN_TAG keeps
-- codes of different runs apart. RUN_TAG must be letters and digits only (it goes into JSON).
--
-- Every answer is checked: one that is not a 200 with a ticket in it counts as bad. At the end
-- one line is printed for the harness to parse:
--   BENCH_RESULT {"requests":..,"duration_us":..,"bad_answers":..,"connect_errors":..,...}
-- (latencies in microseconds, as wrk records them).

local threads = {}

-- Runs in the main Lua state once per thread: number the threads, keep them for done().
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

-- The rest runs in each thread's own Lua state. `bad_answers` is a global so that done() can
-- read it with thread:get().
bad_answers = 0
local count = 0
local prefix = nil
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local tag = args[1] or "run"
  local delay = args[2] or "20"
  prefix = '{"code":"slow-' .. delay .. 'x' .. tag .. 't' .. tostring(thread_no or 1) .. 'n'
end

function request()
  count = count + 1
  return wrk.format("POST", "/", headers, prefix .. count .. '.1"}')
end

function response(status, _, body)
  if status ~= 200 or body == nil or not string.find(body, '"ticket"', 1, true) then
    bad_answers = bad_answers + 1
  end
end

function done(summary, latency, _)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("bad_answers") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bad_answers":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"latency_mean_us":%.1f,"latency_p50_us":%d,"latency_p99_us":%d,"latency_max_us":%d}\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
