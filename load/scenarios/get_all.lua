-- GET /assign without mutex=: every group of the configuration (see common.lua for the options).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function make_request(user, device)
  return "GET", "/assign?device_id=" .. device .. "&user_id=" .. user
end
