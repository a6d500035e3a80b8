-- c) A participant records an interview a few days ahead (which also plans its reminders).
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
require("common")

local counter = 0

function request()
  counter = counter + 1
  local starts = os.date("!%Y-%m-%dT%H:00:00Z", os.time() + 86400 * (2 + counter % 20))
  local body = string.format(
    '{"employer":"Kiwi","role_title":"Butikkmedarbeider","starts_at":"%s","duration_minutes":45,'
      .. '"address":"Storgata 1, Oslo"}', starts)
  return wrk.format("POST", "/v1/me/interviews", {
    ["Authorization"] = bearer(),
    ["Content-Type"] = "application/json",
  }, body)
end
