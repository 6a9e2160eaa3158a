-- wrk script: GET /assign with many different users, plus a summary in done().
--
--   wrk -t2 -c64 -d10s -s load/assign_varied_users.lua http://127.0.0.1:8080 [-- key=value ...]
--
-- Options after `--` (all optional):
--   users=100000      distinct user ids / device ids drawn from (user-1..user-N, dev-1..dev-N)
--   mutex_pct=10      percentage of requests that add &mutex=checkout (the rest ask for all groups)
--   groups=0          when set, every request asks for one group, group-<1..groups>, instead
--                     (for large configurations, see load/large_config.py)
--   seed=42           PRNG seed; each wrk thread derives its own stream from it, so a run with
--                     the same seed and thread count sends the same sequence of users
--
-- wrk runs one Lua state per thread plus one for setup()/done(). The per-thread states
-- count status codes in response(); setup() keeps a handle on every thread so that done()
-- can read those counters back with thread:get() and add them up (the pattern from wrk's
-- SCRIPTING doc). The last line of done() is one machine-readable `RESULT key=value ...`
-- line that load/run_assign_vs_nginx.sh parses.

-- ---------------------------------------------------------------- main state: setup()
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  table.insert(threads, thread)
  next_id = next_id + 1
end

-- ---------------------------------------------------------------- per-thread state
local n_users = 100000
local mutex_pct = 10
local seed = 42
local n_groups = 0

-- Counters read back by done(). They must be globals: thread:get() reads globals.
statuses = {}   -- status code (as a string key, so the table copies cleanly) -> count
responses = 0

-- Small self-contained PRNG (Park-Miller minimal standard, 31-bit), so the sequence does
-- not depend on which Lua (LuaJIT or PUC) wrk was built with. Exact in doubles.
local state = 1
local function rand(n) -- uniform-ish integer in 1..n
  state = (state * 48271) % 2147483647
  return (state % n) + 1
end

function init(args)
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k == "users" then n_users = tonumber(v)
    elseif k == "mutex_pct" then mutex_pct = tonumber(v)
    elseif k == "seed" then seed = tonumber(v)
    elseif k == "groups" then n_groups = tonumber(v)
    else error("assign_varied_users.lua: unknown argument '" .. a .. "' (known: users=, mutex_pct=, seed=, groups=)")
    end
  end
  -- `id` was set by setup() on this thread before init() runs.
  state = (seed * 1000003 + (id or 1) * 7919) % 2147483646 + 1
  for _ = 1, 10 do rand(2) end -- let nearby seeds diverge
end

function request()
  -- device and user drawn independently: many (device, user) pairs, ids in a fixed range
  -- so that the distinct count stays n_users each.
  local path = "/assign?device_id=dev-" .. rand(n_users) .. "&user_id=user-" .. rand(n_users)
  if n_groups > 0 then
    path = path .. "&mutex=group-" .. rand(n_groups)
  elseif rand(100) <= mutex_pct then
    path = path .. "&mutex=checkout"
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  responses = responses + 1
end

-- ---------------------------------------------------------------- main state: done()
function done(summary, latency, requests)
  local counts, total, non2xx = {}, 0, 0
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses") or {}) do
      counts[code] = (counts[code] or 0) + n
      total = total + n
      local c = tonumber(code)
      if c < 200 or c > 299 then non2xx = non2xx + n end
    end
  end

  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local rps = summary.requests / secs
  local function ms(p) return latency:percentile(p) / 1000 end

  local codes = {}
  for code, n in pairs(counts) do table.insert(codes, code .. ":" .. n) end
  table.sort(codes)

  io.write("---- assign_varied_users summary ----\n")
  io.write(string.format("requests      %d in %.2fs = %.0f req/s, %.0f bytes/response (headers included)\n",
    summary.requests, secs, rps, summary.requests > 0 and summary.bytes / summary.requests or 0))
  io.write(string.format("status codes  %s   (non-2xx: %d of %d counted)\n",
    #codes > 0 and table.concat(codes, " ") or "none", non2xx, total))
  io.write(string.format("socket errors connect %d, read %d, write %d, timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("latency ms    p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
    ms(50), ms(90), ms(99), latency.max / 1000, latency.mean / 1000))
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d codes=%s\n",
    summary.requests, rps, ms(50), ms(90), ms(99), latency.max / 1000, non2xx, socket_errors,
    #codes > 0 and table.concat(codes, ",") or "none"))
end
