#!/usr/bin/env bash
# The ledger benchmark on PostgreSQL (scripts/bench.sh --database postgres): the same mixed load (wrk,
# mixed.lua, 2 threads, 64 connections) against dist/ledgerd on PostgreSQL with one replica and with two
# (32 connections to each), against dist/ledgerd on its embedded SQLite, and pgbench's built-in TPC-B-like
# script (3 balance updates and a history insert per transaction) on the same server with the same 64
# clients: the anchor. Targets run alternately, round by round. One PostgreSQL, started here in a temp
# dir (fsync on, synchronous_commit on). Only 127.0.0.1; stops by itself.
# A measurement, not a test: exits 0 whether the targets are met or not, 1 only if a consistency check fails.
#
# Usage: scripts/bench/postgres.sh [--duration S] [--warmup S] [--rounds N] [--pgbench-scale N]
#   --duration 20, --warmup 5, --rounds 2, --pgbench-scale 64 (pgbench -i -s: 64 branches for 64 clients)
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=20 warmup=5 rounds=2 scale=64
users=16 accounts_per_user=4 initial_deposit=1000000 connections=64
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --pgbench-scale) scale="$2"; shift ;;
    *) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
  shift
done
say() { printf '==> %s\n' "$*"; }

command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 ||
  { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -d node_modules ] || bash scripts/install.sh
source scripts/ensure-bun.sh
pg_bin=/usr/lib/postgresql/15/bin
# shellcheck source=scripts/lib/fresh-binary.sh
source scripts/lib/fresh-binary.sh
build_if_stale

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-pgbench.XXXXXX")"
chmod 755 "$tmp"
cleanup() {
  local children
  children="$(jobs -p)"
  # shellcheck disable=SC2086 # one pid per word
  [ -z "$children" ] || { kill -TERM $children 2>/dev/null || true; wait 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM
wait_until() {
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "gave up waiting for: $*" >&2; return 1
}
free_port() { bun -e 'const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); console.log(s.port); s.stop(true)'; }

say "starting PostgreSQL (bun scripts/bench/pg-server.ts)"
bun scripts/bench/pg-server.ts ledgerd pgbench >"$tmp/pg.out" 2>&1 &
wait_until grep -q '^ready' "$tmp/pg.out" || { cat "$tmp/pg.out"; exit 1; }
ledgerd_url="$(sed -n 's/^ledgerd //p' "$tmp/pg.out")"
pgbench_url="$(sed -n 's/^pgbench //p' "$tmp/pg.out")"
say "$("$pg_bin/psql" "$ledgerd_url" -Atc 'select version()')"

declare -A api admin pid_of
start_ledgerd() { # name, extra environment...
  local name=$1 api_port admin_port
  shift
  api_port=$(free_port) admin_port=$(free_port)
  env "$@" dist/ledgerd serve --host 127.0.0.1 --port "$api_port" --admin-host 127.0.0.1 \
    --admin-port "$admin_port" --data-dir "$tmp/data-$name" >"$tmp/ledgerd-$name.log" 2>&1 &
  pid_of[$name]=$!
  api[$name]="http://127.0.0.1:$api_port" admin[$name]="http://127.0.0.1:$admin_port"
  wait_until curl -fsS "${admin[$name]}/readyz" || { cat "$tmp/ledgerd-$name.log"; exit 1; }
}
say "starting dist/ledgerd: sqlite, and two replicas (pg-a, pg-b) on one PostgreSQL database"
start_ledgerd sqlite
start_ledgerd pg-a "LEDGERD_DATABASE_URL=$ledgerd_url"
start_ledgerd pg-b "LEDGERD_DATABASE_URL=$ledgerd_url"
for name in sqlite pg-a; do
  say "setup through $name: $users users, $accounts_per_user USD accounts each, funded"
  bun scripts/bench/setup.ts "${api[$name]}" "$users" "$accounts_per_user" "$initial_deposit" "$tmp/accounts-$name"
done
say "pgbench -i -s $scale (TPC-B-like tables) on the same server"
"$pg_bin/pgbench" -i -q -s "$scale" "$pgbench_url" >"$tmp/pgbench-init.log" 2>&1 || { cat "$tmp/pgbench-init.log"; exit 1; }

run=0
# wrk_run <name> <seconds> <url>|<connections>|<threads>...: one wrk per URL at once; RESULT lines summed.
wrk_run() {
  local name=$1 seconds=$2 out url conns wrk_threads accounts="$tmp/accounts-pg-a"
  [[ "$1" = sqlite* ]] && accounts="$tmp/accounts-sqlite"
  shift 2
  local pids=()
  for target in "$@"; do
    run=$((run + 1))
    out="$tmp/out-$run"
    IFS='|' read -r url conns wrk_threads <<<"$target"
    wrk -t"$wrk_threads" -c"$conns" -d"${seconds}s" --timeout 2s --latency \
      -s scripts/bench/mixed.lua "$url" -- "$accounts" "run$run" mixed >"$out" &
    pids+=($!)
  done
  wait "${pids[@]}"
  # Requests add up; of the latencies, the worse side's (a conservative p50/p99 for the pair).
  cat "$tmp"/out-* | grep '^RESULT' | awk -v n="$name" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] ~ /_ms$/) { if (kv[2] > v[kv[1]]) v[kv[1]] = kv[2] } else v[kv[1]] += kv[2] } }
    END { printf "%s", n; for (k in v) printf " %s=%s", k, v[k]; print "" }' >>"$tmp/$name"
  rm -f "$tmp"/out-*
}
pgbench_run() { # <name> <seconds>
  rm -f "$tmp"/pgb-log*
  (cd "$tmp" && "$pg_bin/pgbench" -M prepared -c "$connections" -j 2 -T "$2" -l --log-prefix=pgb-log \
    "$pgbench_url" >"$tmp/pgbench.out" 2>&1) || { cat "$tmp/pgbench.out"; exit 1; }
  local tps
  tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$tmp/pgbench.out")"
  # The per-transaction log's third column is the latency in microseconds.
  cat "$tmp"/pgb-log* | awk '{print $3 / 1000}' | sort -g >"$tmp/pgb-latencies"
  awk -v n="$1" -v tps="$tps" '{v[NR] = $1} END {printf "%s rps=%s p50_ms=%.2f p99_ms=%.2f\n", n, tps, v[int(NR * 0.5)], v[int(NR * 0.99)]}' \
    "$tmp/pgb-latencies" >>"$tmp/$1"
}
one() { # round, target
  case "$2" in
    sqlite) wrk_run sqlite "$duration" "${api[sqlite]}|$connections|2" ;;
    pg-1) wrk_run pg-1 "$duration" "${api[pg-a]}|$connections|2" ;;
    pg-2) wrk_run pg-2 "$duration" "${api[pg-a]}|$((connections / 2))|1" "${api[pg-b]}|$((connections / 2))|1" ;;
    pgbench) pgbench_run pgbench "$duration" ;;
  esac
  say "round $1: $(tail -1 "$tmp/$2")"
}
say "warm-up: ${warmup}s each"
wrk_run warmup "$warmup" "${api[pg-a]}|$connections|2"
wrk_run sqlite-warmup "$warmup" "${api[sqlite]}|$connections|2"
for round in $(seq "$rounds"); do
  order="pg-1 pgbench pg-2 sqlite"
  [ $((round % 2)) = 0 ] && order="pgbench pg-1 sqlite pg-2"
  for target in $order; do one "$round" "$target"; done
done

field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$tmp/$1"; }
middle() { sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
median() { field "$1" "$2" | middle; }
met() { if awk "BEGIN {exit !($1)}"; then echo met; else echo missed; fi; }
echo
say "results: medians of $rounds runs of ${duration}s (pgbench: TPC-B-like, -M prepared, $connections clients, scale $scale)"
printf '%-10s %10s %9s %9s %9s %9s\n' target 'req/s' 'p50 ms' 'p99 ms' 5xx errors
for target in pg-1 pg-2 sqlite pgbench; do
  printf '%-10s %10.0f %9.2f %9.2f %9d %9d\n' "$target" "$(median "$target" rps)" "$(median "$target" p50_ms)" \
    "$(median "$target" p99_ms)" "$(field "$target" http5xx | awk '{s += $1} END {print s + 0}')" \
    "$(cat <(field "$target" socket) <(field "$target" timeout) <(field "$target" http4xx) <(field "$target" other) | awk '{s += $1} END {print s + 0}')"
done
paste -d ' ' <(field pg-1 rps) <(field pg-2 rps) <(field pgbench rps) >"$tmp/rounds"
echo
printf '%5s %10s %10s %13s %12s %12s\n' round 'pg-1 req/s' 'pg-2 req/s' 'pgbench tps' 'pg-1/pgbench' 'pg-2/pgbench'
awk '{printf "%5d %10.0f %10.0f %13.0f %12.2f %12.2f\n", NR, $1, $2, $3, $1 / $3, $2 / $3}' "$tmp/rounds"
ratio1="$(awk '{print $1 / $3}' "$tmp/rounds" | middle)"
ratio2="$(awk '{print $2 / $3}' "$tmp/rounds" | middle)"
p99="$(median pg-1 p99_ms)"

echo
consistent=true
for name in pg-a sqlite; do
  say "consistency of $name through the API (balance = sum of postings over every page)"
  bun scripts/bench/check.ts "${api[$name]}" "$tmp/accounts-$name" 8 || consistent=false
done
for name in sqlite pg-a pg-b; do kill -TERM "${pid_of[$name]}"; wait "${pid_of[$name]}" || consistent=false; done
say "dist/ledgerd verify on PostgreSQL and on SQLite"
LEDGERD_DATABASE_URL="$ledgerd_url" dist/ledgerd verify --data-dir "$tmp/data-pg-a" || consistent=false
dist/ledgerd verify --data-dir "$tmp/data-sqlite" || consistent=false

echo
say "targets (met or missed; a measurement: the exit status does not depend on them)"
printf "one replica >= 1x pgbench's tps (median of the per-round ratios): %.2fx: %s\n" "$ratio1" "$(met "$ratio1 >= 1")"
printf "two replicas against pgbench: %.2fx\n" "$ratio2"
printf 'p99 < 20 ms, one replica (median of the rounds): %.2f ms: %s\n' "$p99" "$(met "$p99 < 20")"
echo
if [ "$consistent" = true ]; then say "consistency: PASS"; else say "consistency: FAIL"; exit 1; fi
