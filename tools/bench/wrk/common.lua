-- Shared by the load scenarios: each wrk thread rotates through the seeded participants'
-- access tokens (TOKENS names the file), starting at its own random place, and reports its
-- figures in one line that load.sh reads.
local tokens = {}
local next_token = 1

function load_tokens()
  local path = os.getenv("TOKENS")
  for line in io.lines(path) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  next_token = math.random(#tokens)
end

function bearer()
  next_token = next_token % #tokens + 1
  return "Bearer " .. tokens[next_token]
end

function init(args)
  load_tokens()
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d socket_errors=%d\n",
    summary.requests,
    summary.requests / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
