-- POST /assign/batch: batch_users users (default 100), each for the same batch_groups groups
-- (default 10: consecutive keys from a random start, so all distinct; see common.lua).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")
opts.pool = 100 -- requests of 10 KB: a smaller pool (pool= still overrides it)

function make_request(user, device)
  local users, groups = { '{"user_id":"' .. user .. '","device_id":"' .. device .. '"}' }, {}
  for i = 2, opts.batch_users do
    users[i] = '{"user_id":"user-' .. rand(opts.users) .. '","device_id":"dev-' .. rand(opts.users) .. '"}'
  end
  local first = rand(#keys)
  for i = 1, math.min(opts.batch_groups, #keys) do
    groups[i] = '"' .. keys[(first + i - 2) % #keys + 1] .. '"'
  end
  return "POST", "/assign/batch", '{"users":[' .. table.concat(users, ",") .. '],"mutexes":[' ..
    table.concat(groups, ",") .. ']}'
end
