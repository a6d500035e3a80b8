#!/usr/bin/env bash
# The API under load: `tools/bench/load.sh sqlite` or `tools/bench/load.sh postgres`.
#
# Builds the release binary, makes a fresh database (a SQLite file in a temporary directory, or
# a new PostgreSQL database on $PGHOST:$PGPORT that is dropped afterwards), seeds 10,000
# participants (tools/bench/seed_load.py), starts `ips serve` with production settings and
# drives three scenarios with wrk at 64 connections: a) GET /v1/me/interviews?limit=20,
# b) PUT /v1/me/job-preferences, c) POST /v1/me/interviews. Each prints requests/s, p50 and p99
# latency, the count of non-2xx answers and the server's peak RSS so far. On PostgreSQL it also
# runs `pgbench -S` (64 clients, 2 threads) and prints the API's read rate as a share of it.
# It prints figures; it never asserts them.
#
# Knobs (environment): DURATION (s, default 15), WARMUP (s, default 3), CONNECTIONS (64),
# PARTICIPANTS (10000), SAMPLE (1000 tokens), PGHOST/PGPORT/PGUSER (127.0.0.1/5432/postgres),
# PGBENCH_SCALE (20: about 300 MB, in memory), IPS_DATABASE_POOL_SIZE, IPS_HTTP_WORKERS,
# IPS_AUTH_CACHE_SECONDS, IPS_LOG (the server inherits the environment),
# IPS_BIN (an already built `ips` to measure instead of building this checkout).
set -euo pipefail

backend=${1:-}
case "$backend" in
  sqlite | postgres) ;;
  *)
    echo "usage: $0 sqlite|postgres" >&2
    exit 2
    ;;
esac

root=$(cd "$(dirname "$0")/../.." && pwd)
bench_dir="$root/tools/bench"
duration=${DURATION:-15}
warmup=${WARMUP:-3}
connections=${CONNECTIONS:-64}
participants=${PARTICIPANTS:-10000}
sample=${SAMPLE:-1000}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
pgbench_scale=${PGBENCH_SCALE:-20}
cores=$(nproc)

for tool in wrk python3; do
  command -v "$tool" >/dev/null || {
    echo "$tool is missing (Debian: apt-get install -y $tool)" >&2
    exit 1
  }
done

if [[ -n "${IPS_BIN:-}" ]]; then
  ips=$IPS_BIN # a binary built earlier, to compare two versions
else
  echo "== building the release binary"
  (cd "$root" && cargo build --release --quiet)
  ips="${CARGO_TARGET_DIR:-$root/target}/release/ips"
fi

work=$(mktemp -d)
db_name="ips_load_$$"
pgbench_db="ips_load_pgbench_$$"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "$backend" == postgres ]]; then
    dropdb --if-exists "$db_name" 2>/dev/null || true
    dropdb --if-exists "$pgbench_db" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ "$backend" == sqlite ]]; then
  export DATABASE_URL="sqlite://$work/ips.db"
  run_sql() { sqlite3 "$work/ips.db" >/dev/null; }
else
  createdb "$db_name"
  export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db_name"
  run_sql() { psql --quiet --set ON_ERROR_STOP=1 "$db_name" >/dev/null; }
fi

echo "== seeding $participants participants ($backend)"
started=$(date +%s.%N)
"$ips" migrate >/dev/null
python3 "$bench_dir/seed_load.py" --dialect "$backend" --participants "$participants" \
  --sample "$sample" --tokens "$work/tokens.txt" | run_sql
echo "seeded in $(printf '%.1f' "$(echo "$(date +%s.%N) - $started" | bc)") s"

port=$((20000 + RANDOM % 20000))
export IPS_BIND="127.0.0.1:$port"
export IPS_DATABASE_POOL_SIZE=${IPS_DATABASE_POOL_SIZE:-16}
export IPS_HTTP_WORKERS=${IPS_HTTP_WORKERS:-0}
export IPS_LOG=${IPS_LOG:-info} IPS_LOG_FORMAT=${IPS_LOG_FORMAT:-json}
"$ips" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null || {
  echo "the server did not start:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
}

peak_rss() { awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$server_pid/status"; }

echo "== machine: $cores cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); $(uptime | sed 's/.*load/load/')"
echo "== server: pool $IPS_DATABASE_POOL_SIZE, workers ${IPS_HTTP_WORKERS/#0/$cores}; wrk: $connections connections, 2 threads, ${warmup} s warm-up, ${duration} s"

export TOKENS="$work/tokens.txt" WRK_LUA_DIR="$bench_dir/wrk"
declare -A rps
scenario() {
  local name=$1 script=$2
  wrk -t2 -c"$connections" -d"${warmup}s" -s "$bench_dir/wrk/$script" "http://127.0.0.1:$port" >/dev/null
  local line
  line=$(wrk -t2 -c"$connections" -d"${duration}s" -s "$bench_dir/wrk/$script" "http://127.0.0.1:$port" | grep '^RESULT')
  rps[$name]=$(sed 's/.* rps=\([0-9.]*\).*/\1/' <<<"$line")
  printf '%-28s %s peak_rss=%s\n' "$name" "${line#RESULT }" "$(peak_rss)"
}
scenario "a) GET interviews (20)" read_interviews.lua
scenario "b) PUT job preferences" put_job_preferences.lua
scenario "c) POST interview" post_interview.lua

if [[ "$backend" == postgres ]]; then
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  createdb "$pgbench_db"
  pgbench -i -q -s "$pgbench_scale" "$pgbench_db" >/dev/null 2>&1
  pgbench -S -c "$connections" -j 2 -T "$warmup" "$pgbench_db" >/dev/null 2>&1
  tps=$(pgbench -S -c "$connections" -j 2 -T "$duration" "$pgbench_db" 2>/dev/null |
    awk '/^tps/ { print $3; exit }')
  printf '%-28s tps=%.1f (scale %s, %s clients, 2 threads)\n' "pgbench -S" "$tps" "$pgbench_scale" "$connections"
  printf '%-28s %.2f\n' "API read / pgbench -S" "$(echo "${rps["a) GET interviews (20)"]} / $tps" | bc -l)"
fi
