#!/usr/bin/env bash
# The sign-up-flood benchmark (scripts/bench.sh --signup-flood): the ledger mix (wrk, mixed.lua) against
# one dist/ledgerd, alone and then with a concurrent sign-up flood (scripts/bench/signup-flood.ts, each
# sign-up from its own address), alternating round by round; prints each run's throughput and the
# ratio flooded/alone per round and overall (medians). The target: ledger throughput within 10 %.
# A measurement, not a test: exits 0 whether the target is met or not.
#
# Usage: scripts/bench/signup-flood.sh [--duration S] [--rounds N] [--rate R] [--in-flight N] [--binary B]
#                                      [--hashing-cpus N]
#   --duration 10, --rounds 3
#   --rate 400       sign-ups started a second, open loop (20 times what two cores can hash);
#                    0: closed loop, --in-flight sign-ups resent as soon as answered (a request flood)
#   --in-flight 400  at most this many sign-ups unanswered at once (the finding's 400 concurrent)
#   --binary B       another ledgerd build to measure (an older commit's); default dist/ledgerd, built
#   --hashing-cpus N ledgerd sets the last N CPUs aside for sign-up hashing (its --hashing-cpus), and wrk
#                    and the flood client run there too: the API's CPUs run ledgerd alone, the closest
#                    this machine comes to clients on another machine
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source scripts/ensure-bun.sh
duration=10 rounds=3 rate=400 in_flight=400 binary='' hashing_cpus=0 users=16 accounts_per_user=4 initial_deposit=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --rate) rate="$2"; shift ;;
    --in-flight) in_flight="$2"; shift ;;
    --binary) binary="$(realpath "$2")"; shift ;;
    --hashing-cpus) hashing_cpus="$2"; shift ;;
    -h | --help) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
  shift
done
# shellcheck source=scripts/lib/fresh-binary.sh
source scripts/lib/fresh-binary.sh
say() { printf '==> %s\n' "$*"; }
command -v wrk >/dev/null || { say "wrk is needed (apt-get install wrk)"; exit 2; }
binary="$(binary_to_measure "$binary")"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-flood.XXXXXX")"
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
read -r api_port admin_port <<<"$(bun -e 'const s = [0, 0].map(() => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }))
  console.log(s.map((l) => l.port).join(" ")); for (const l of s) l.stop(true)')"
flags=(--host 127.0.0.1 --port "$api_port" --admin-host 127.0.0.1 --admin-port "$admin_port"
  --data-dir "$tmp/data" --forwarded-for-hops 1 --log-level warn)
# The load generators: anywhere, or with --hashing-cpus on the CPUs ledgerd leaves to hashing.
clients=()
if [ "$hashing_cpus" -gt 0 ]; then
  flags+=(--hashing-cpus "$hashing_cpus")
  command -v taskset >/dev/null || { say "taskset is needed (apt-get install util-linux)"; exit 2; }
  cpus="$(nproc)"
  clients=(taskset -c "$((cpus - hashing_cpus))-$((cpus - 1))")
fi
say "bun $(bun --version), $("$binary" version | head -1), $(nproc) cores"
say "starting $binary serve ${flags[*]}"
"$binary" serve "${flags[@]}" >"$tmp/ledgerd.log" 2>&1 &
pid=$!
api="http://127.0.0.1:$api_port"
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
say "setup: $users users, $accounts_per_user accounts each, funded"
bun scripts/bench/setup.ts "$api" "$users" "$accounts_per_user" "$initial_deposit" "$tmp/accounts"

ledger() { # ledger <run>: the mix for $duration s; prints its RESULT line
  "${clients[@]}" wrk -t2 -c64 -d"${duration}s" --timeout 2s --latency -s scripts/bench/mixed.lua "$api" \
    -- "$tmp/accounts" "run$1" mixed | grep '^RESULT'
}
rps() { sed -n 's/.*rps=\([0-9]*\).*/\1/p'; }
flood_shape="$rate a second, open loop, at most $in_flight in flight"
[ "$rate" = 0 ] && flood_shape="$in_flight in flight, closed loop"
alone=() flooded=() ratios=()
for round in $(seq "$rounds"); do
  say "round $round: ledger mix alone, ${duration} s"
  a="$(ledger "a$round")"; echo "  alone:   $a"
  say "round $round: ledger mix with sign-ups flooding ($flood_shape), ${duration} s"
  "${clients[@]}" bun scripts/bench/signup-flood.ts "$api" "$duration" "$rate" "$in_flight" "r$round" >"$tmp/flood.out" &
  flood_pid=$!
  f="$(ledger "f$round")"
  wait "$flood_pid"
  echo "  flooded: $f"
  echo "  flood:   $(cat "$tmp/flood.out")"
  alone+=("$(rps <<<"$a")") flooded+=("$(rps <<<"$f")")
  ratios+=("$(awk -v f="${flooded[-1]}" -v a="${alone[-1]}" 'BEGIN { printf "%.3f", f / a }')")
  say "round $round: flooded/alone = ${ratios[-1]}"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
ratio="$(median "${ratios[@]}")"
verdict=missed
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.9) }' && verdict=met
say "median ledger throughput: alone $(median "${alone[@]}") req/s, flooded $(median "${flooded[@]}") req/s;" \
  "ratio $ratio (target ≥ 0.90: $verdict)"
