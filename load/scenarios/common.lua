-- Shared part of the wrk scenarios in this folder; each scenario loads it with dofile() and
-- defines make_request(user_id, device_id) returning method, path and body (or nil).
--
--   wrk -t1 -c64 -d2s -s load/scenarios/get_one.lua http://127.0.0.1:8080 -- groups=10 seed=7
--
-- Options after `--` (all optional):
--   groups=10         the groups asked for are group-1..group-N ...
--   keys_file=PATH    ... or the group keys in PATH, one a line (overrides groups=)
--   users=100000      distinct user ids / device ids drawn from (user-1..N, dev-1..N)
--   seed=42           PRNG seed; each wrk thread derives its own stream from it, so a run with
--                     the same seed and thread count sends the same sequence of requests
--   close=1           send `Connection: close`: a new connection for every request
--   track_version=1   note the lowest and highest X-Config-Version answered
--   pool=10000        each thread builds this many requests, then sends them again in turn
--                     (0: a new one every time); building each in Lua would limit wrk more
--                     than the servers it measures
--   batch_users=100, batch_groups=10   the size of one POST /assign/batch (batch.lua)
--
-- wrk runs one Lua state per thread plus one for setup()/done(). The per-thread states
-- count status codes in response(); setup() keeps a handle on every thread so that done()
-- can read those counters back with thread:get() (the pattern from wrk's SCRIPTING doc).
-- The last line of done() is one machine-readable `RESULT key=value ...` line (load/run.sh
-- and load/large_config.py parse it).

opts = { groups = 10, users = 100000, seed = 42, close = 0, track_version = 0, pool = 10000,
         batch_users = 100, batch_groups = 10 }
local numeric = { groups = true, users = true, seed = true, close = true, track_version = true,
                  pool = true, batch_users = true, batch_groups = true }

-- ---------------------------------------------------------------- main state: setup()
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

-- ---------------------------------------------------------------- per-thread state
-- Counters read back by done(). They must be globals: thread:get() reads globals.
statuses = {}   -- status code (as a string key, so the table copies cleanly) -> count
vmin, vmax = -1, -1
keys = {}

-- Small self-contained PRNG (Park-Miller minimal standard, 31-bit), so the sequence does
-- not depend on which Lua (LuaJIT or PUC) wrk was built with. Exact in doubles.
local state = 1
function rand(n) -- integer in 1..n
  state = (state * 48271) % 2147483647
  return (state % n) + 1
end

function random_key() return keys[rand(#keys)] end

local headers = {}

function init(args)
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if k == "keys_file" then opts.keys_file = v
    elseif numeric[k] and tonumber(v) then opts[k] = tonumber(v)
    else error("unknown or bad argument '" .. a .. "' (see load/scenarios/common.lua)")
    end
  end
  if opts.keys_file then
    for line in io.lines(opts.keys_file) do
      if line ~= "" then table.insert(keys, line) end
    end
  else
    for g = 1, opts.groups do keys[g] = "group-" .. g end
  end
  assert(#keys > 0, "no group keys")
  if opts.close == 1 then headers["Connection"] = "close" end
  -- `id` was set by setup() on this thread before init() runs.
  state = (opts.seed * 1000003 + (id or 1) * 7919) % 2147483646 + 1
  for _ = 1, 10 do rand(2) end -- let nearby seeds diverge
end

local pool, turn = {}, 0

function request()
  turn = turn % math.max(opts.pool, 1) + 1
  if pool[turn] then return pool[turn] end
  -- device and user drawn independently: many (device, user) pairs, ids in a fixed range.
  local method, path, body = make_request("user-" .. rand(opts.users), "dev-" .. rand(opts.users))
  headers["Content-Type"] = body and "application/json" or nil
  local r = wrk.format(method, path, headers, body)
  if opts.pool > 0 then pool[turn] = r end
  return r
end

function response(status, hdrs, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
  if opts.track_version == 1 then
    local v = tonumber(hdrs["X-Config-Version"]) or -1
    if vmin < 0 or v < vmin then vmin = v end
    if v > vmax then vmax = v end
  end
end

-- ---------------------------------------------------------------- main state: done()
function done(summary, latency, requests)
  local counts, non2xx, lo, hi = {}, 0, -1, -1
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses") or {}) do
      counts[code] = (counts[code] or 0) + n
      local c = tonumber(code)
      if c < 200 or c > 299 then non2xx = non2xx + n end
    end
    local a, b = t:get("vmin"), t:get("vmax")
    if a >= 0 and (lo < 0 or a < lo) then lo = a end
    if b > hi then hi = b end
  end
  local codes = {}
  for code, n in pairs(counts) do table.insert(codes, code .. ":" .. n) end
  table.sort(codes)

  local e = summary.errors
  local secs = summary.duration / 1e6
  local function ms(p) return latency:percentile(p) / 1000 end
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d " ..
    "socket_errors=%d p999_ms=%.3f bytes_per_response=%.0f connect_errors=%d read_errors=%d " ..
    "write_errors=%d timeouts=%d version_min=%d version_max=%d codes=%s\n",
    summary.requests, summary.requests / secs, ms(50), ms(90), ms(99), latency.max / 1000,
    non2xx, e.connect + e.read + e.write + e.timeout, ms(99.9),
    summary.requests > 0 and summary.bytes / summary.requests or 0,
    e.connect, e.read, e.write, e.timeout, lo, hi,
    #codes > 0 and table.concat(codes, ",") or "none"))
end
