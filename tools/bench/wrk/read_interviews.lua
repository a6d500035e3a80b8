-- a) A participant's interviews, a page of 20.
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
require("common")

function request()
  return wrk.format("GET", "/v1/me/interviews?limit=20", { ["Authorization"] = bearer() })
end
