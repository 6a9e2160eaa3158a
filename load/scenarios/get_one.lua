-- GET /assign for one group, group-K with K varied (see common.lua for the options).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function make_request(user, device)
  return "GET", "/assign?device_id=" .. device .. "&user_id=" .. user .. "&mutex=" .. random_key()
end
