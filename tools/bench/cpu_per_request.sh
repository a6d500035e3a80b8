#!/usr/bin/env bash
# The server's CPU per request, counted exactly: `tools/bench/cpu_per_request.sh [path]`, a GET of the
# path (the interview list by default), or with BODY='{...}' a POST of that JSON body to it.
#
# Instructions do not depend on how busy the machine is, so two versions compare exactly even on
# a shared machine, where the requests/s of tools/bench/load.sh do not. It seeds a new PostgreSQL
# database as load.sh does (tools/bench/seed_load.py), starts the release `ips serve` under
# `valgrind --tool=callgrind` with counting off, sends WARMUP requests on one keep-alive
# connection (every token reaches the authentication cache), switches counting on, sends
# REQUESTS more, rotating SAMPLE participants' tokens, and prints instructions per request over
# all of the server's threads, with the functions that cost the most.
#
# Knobs (environment): REQUESTS (2000), WARMUP (300), SAMPLE (100), PARTICIPANTS (10000),
# PGHOST/PGPORT/PGUSER (127.0.0.1/5432/postgres), IPS_BIN (an already built `ips`), TOP (25),
# BODY (a JSON body to POST instead of a GET; the answers must then be 201).
# A new interview: BODY='{"employer":"Kiwi","role_title":"Lager","starts_at":"2027-03-01T10:00:00Z"}' \
#   tools/bench/cpu_per_request.sh /v1/me/interviews
set -euo pipefail

path=${1:-/v1/me/interviews?limit=20}
root=$(cd "$(dirname "$0")/../.." && pwd)
requests=${REQUESTS:-2000}
warmup=${WARMUP:-300}
sample=${SAMPLE:-100}
participants=${PARTICIPANTS:-10000}
top=${TOP:-25}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}

for tool in valgrind callgrind_control callgrind_annotate python3 psql; do
  command -v "$tool" >/dev/null || {
    echo "$tool is missing (Debian: apt-get install -y valgrind postgresql-client python3)" >&2
    exit 1
  }
done

if [[ -n "${IPS_BIN:-}" ]]; then
  ips=$IPS_BIN
else
  (cd "$root" && cargo build --release --quiet)
  ips="${CARGO_TARGET_DIR:-$root/target}/release/ips"
fi

work=$(mktemp -d)
db_name="ips_cpu_$$"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  dropdb --if-exists "$db_name" 2>/dev/null || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

createdb "$db_name"
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db_name"
"$ips" migrate >/dev/null
python3 "$root/tools/bench/seed_load.py" --dialect postgres --participants "$participants" \
  --sample "$sample" --tokens "$work/tokens.txt" |
  psql --quiet --set ON_ERROR_STOP=1 "$db_name" >/dev/null

port=$((20000 + RANDOM % 20000))
export IPS_BIND="127.0.0.1:$port" IPS_DATABASE_POOL_SIZE=${IPS_DATABASE_POOL_SIZE:-16}
export IPS_HTTP_WORKERS=${IPS_HTTP_WORKERS:-0} IPS_AUTH_CACHE_SECONDS=${IPS_AUTH_CACHE_SECONDS:-60}
export IPS_LOG=${IPS_LOG:-info} IPS_LOG_FORMAT=${IPS_LOG_FORMAT:-json}
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
  "$ips" serve >"$work/server.log" 2>"$work/valgrind.log" &
server_pid=$!

# One keep-alive connection; each call sends `count` requests and checks every answer is 200.
drive() {
  python3 - "$port" "$path" "$work/tokens.txt" "$1" "$server_pid" "${BODY:-}" <<'EOF'
import http.client, os, sys, time
port, path, tokens_file, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
server, body = int(sys.argv[5]), sys.argv[6].encode()
method, expected = ("POST", 201) if body else ("GET", 200)
tokens = [line.strip() for line in open(tokens_file) if line.strip()]
# Under valgrind the server takes a while to start.
for attempt in range(3000):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/health/live")
        conn.getresponse().read()
        break
    except (OSError, http.client.HTTPException):
        conn.close()
        os.kill(server, 0)  # raises once the server has exited
        time.sleep(0.1)
else:
    sys.exit("the server did not start")
for i in range(count):
    headers = {"Authorization": "Bearer " + tokens[i % len(tokens)]}
    if body:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body or None, headers=headers)
    answer = conn.getresponse()
    text = answer.read()
    if answer.status != expected:
        sys.exit(f"{method} {path}: {answer.status} {text[:200]!r}")
EOF
}

drive "$warmup" || {
  echo "the warm-up failed:" >&2
  tail -n 5 "$work/server.log" "$work/valgrind.log" >&2
  exit 1
}
callgrind_control -i on "$server_pid" >/dev/null 2>&1
drive "$requests"
callgrind_control -i off "$server_pid" >/dev/null 2>&1
callgrind_control -d "$server_pid" >/dev/null 2>&1 # callgrind.out.1: the counted requests only
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
total=$(awk '/Collected :/ { print $NF }' "$work/valgrind.log")
echo "== ${BODY:+POST }$path: $requests requests, $(printf "%'d" $((total / requests))) instructions per request (all threads)"
echo "== the costliest functions, inclusive, per request:"
callgrind_annotate --inclusive=yes "$work/callgrind.out.1" 2>/dev/null |
  awk -v n="$requests" '/^ *[0-9,]+ .*:/ { c = $1; gsub(",", "", c); $1 = ""; printf "%10d %s\n", c / n, substr($0, 1, 150) }' |
  head -"$top"
