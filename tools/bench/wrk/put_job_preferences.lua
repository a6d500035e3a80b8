-- b) A participant saves their job preferences. Without If-Match, which the API documents as
-- an unconditional save (the phone's last write wins), so each request is one write.
package.path = os.getenv("WRK_LUA_DIR") .. "/?.lua;" .. package.path
require("common")

local body = [[{"goal":"work","desired_roles":["Barista","Lagermedarbeider"],"industries":["Hospitality"],]]
  .. [["interests":["Coffee","Cycling"],"skills":["Customer service"],"experience":"Two summers at a café.",]]
  .. [["hours_per_week_min":10,"hours_per_week_max":20,"preferred_times":["morning","daytime"],]]
  .. [["locations":["Oslo sentrum"],"max_commute_minutes":40,"avoid":["Night shifts"],"disclosure":"partial",]]
  .. [["disclosure_notes":"May mention that I need regular breaks.","notes":"Prefers small workplaces."}]]

function request()
  return wrk.format("PUT", "/v1/me/job-preferences", {
    ["Authorization"] = bearer(),
    ["Content-Type"] = "application/json",
  }, body)
end
