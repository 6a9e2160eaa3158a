-- The soak's traffic (load/soak.sh): a mix of the other scenarios at a bounded rate.
--
--   wrk -t1 -c16 -d5s --timeout 2s -s load/scenarios/soak.lua http://127.0.0.1:8080 -- \
--     keys_file=keys.txt seed=7 track_version=1 batch_users=20 batch_groups=5 delay_ms=16 \
--     post_pct=20 batch_pct=5
--
-- Each request is, drawn from the seed: POST /assign/batch (batch_pct %), POST /assign one
-- group (post_pct %), otherwise GET /assign one group. The request shapes are those of
-- batch.lua, post_one.lua and get_one.lua, loaded here (each loads common.lua afresh; the
-- last load's state is the one wrk uses, and their make_request functions read it through
-- globals). Options of its own, beside common.lua's:
--   delay_ms=0        each connection waits this long before each request: with c connections
--                     the rate is at most c * 1000 / delay_ms requests per second (0: no wait)
--   post_pct=20, batch_pct=5
-- The last line of done() is common.lua's `RESULT key=value ...` line.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "batch.lua")
local batch_request = make_request
dofile(dir .. "post_one.lua")
local post_request = make_request
dofile(dir .. "get_one.lua") -- last: its common.lua state (and default pool) is the one used
local get_request = make_request

local own = { delay_ms = 0, post_pct = 20, batch_pct = 5 }
local common_init = init

function init(args)
  local rest = {}
  for _, a in ipairs(args) do
    local k, v = a:match("^([%w_]+)=(.*)$")
    if own[k] ~= nil and tonumber(v) then own[k] = tonumber(v) else table.insert(rest, a) end
  end
  common_init(rest)
end

function make_request(user, device)
  local r = rand(100)
  if r <= own.batch_pct then return batch_request(user, device) end
  if r <= own.batch_pct + own.post_pct then return post_request(user, device) end
  return get_request(user, device)
end

function delay()
  return own.delay_ms
end
