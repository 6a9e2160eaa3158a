-- POST /assign {"user": {...}, "mutexes": ["group-K"]}, K varied (see common.lua for the options).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function make_request(user, device)
  return "POST", "/assign", '{"user":{"user_id":"' .. user .. '","device_id":"' .. device ..
    '"},"mutexes":["' .. random_key() .. '"]}'
end
