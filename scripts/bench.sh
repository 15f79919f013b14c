#!/usr/bin/env bash
# The ledger benchmark: a fixed mixed load (70 % deposits, 20 % withdrawals, 10 % balance reads) from wrk
# against dist/ledgerd on 127.0.0.1, next to a bare Bun.serve hello-world as the ceiling, a plain Bun +
# SQLite server on the same accounts as the peer to compare against (scripts/bench/peer.ts), and the
# writer thread driven directly (no HTTP; 64 and 256 concurrent callers) as the write path's own ceiling;
# then the same mix at fixed offered rates (open loop, latency from each request's due time, as wrk2).
# Targets run alternately, round by round; the report gives medians, ledgerd/peer per round, and each
# target met or missed. Then checks consistency through the API, with `ledgerd verify`, and the peer's own.
# A measurement, not a test: exits 0 whether the targets are met or not, 1 only if consistency fails.
#
# Usage: scripts/bench.sh [--signup-flood | --spaced-hashing] [--database sqlite|postgres] [--duration S] [--warmup S] [--rounds N] [--mix MIX] [--with-warn-log]
#                         [--check-sample N] [--no-writer-ceiling] [--rates 'R ...']
#   --database postgres  (first) the PostgreSQL benchmark instead: scripts/bench/postgres.sh, which
#                     takes --duration, --warmup, --rounds and --pgbench-scale
#   --signup-flood    (first) the ledger mix alone and under a sign-up flood, alternating, and their
#                     ratio: scripts/bench/signup-flood.sh, which takes --duration, --rounds, --rate and
#                     --in-flight
#   --spaced-hashing  (first) sign-ups and logins one at a time, ledgerd as it runs against the allocator's
#                     default: scripts/bench/spaced-hashing.sh, which takes --rounds, --count, --gap-ms
#   --duration 20, --warmup 5, --rounds 2 (each round: hello, ledger, peer, writer-64, writer-256; then
#                     the open-R runs, round by round)
#   --mix mixed|deposits|withdrawals|reads   (for profiling; targets are for mixed)
#   --with-warn-log   also run a second ledgerd with --log-level warn (no access log) in each round
#   --check-sample N  walk the transactions of N random accounts per server instead of all
#   --no-writer-ceiling  skip the writer-only runs (writer-64, writer-256)
#   --rates 'R ...'   offered rates (req/s) for the open-loop runs (always the mixed load), '' for none;
#                     default '2000 4000 6000 10000'
set -euo pipefail
cd "$(dirname "$0")/.."
# On PostgreSQL, a benchmark of its own: ledgerd with one and two replicas, SQLite and pgbench.
case ${1:-} in -h | --help) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;; esac
[ "${1:-}" = --signup-flood ] && { shift; exec bash scripts/bench/signup-flood.sh "$@"; }
[ "${1:-}" = --spaced-hashing ] && { shift; exec bash scripts/bench/spaced-hashing.sh "$@"; }
if [ "${1:-}" = --database ]; then
  case "${2:-}" in
    postgres) shift 2; exec bash scripts/bench/postgres.sh "$@" ;;
    sqlite) shift 2 ;;
    *) echo "--database: postgres or sqlite" >&2; exit 2 ;;
  esac
fi

duration=20 warmup=5 rounds=2 mix=mixed variants=default check_sample='' writer_ceiling=true
rates='2000 4000 6000 10000'
users=16 accounts_per_user=4 initial_deposit=1000000 connections=64 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --mix) mix="$2"; shift ;;
    --with-warn-log) variants="default warn" ;;
    --check-sample) check_sample="$2"; shift ;;
    --no-writer-ceiling) writer_ceiling=false ;;
    --rates) rates="$2"; shift ;;
    -h | --help) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '==> %s\n' "$*"; }

# --- tools ----------------------------------------------------------------------------------------------
client=wrk
if ! command -v wrk >/dev/null; then
  say "installing wrk from Debian"
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } ||
    client=autocannon
fi
[ -d node_modules ] || bash scripts/install.sh
source scripts/ensure-bun.sh
if [ "$client" = autocannon ]; then
  say "wrk cannot be installed; using npm autocannon@9.0.0 (numbers not comparable with wrk's)"
  [ -d .tools/autocannon/node_modules/autocannon ] ||
    npm install --prefix .tools/autocannon --no-save --no-audit --no-fund --loglevel=error autocannon@9.0.0
  export AUTOCANNON="$PWD/.tools/autocannon/node_modules/autocannon/autocannon.js"
fi

# shellcheck source=scripts/lib/fresh-binary.sh
source scripts/lib/fresh-binary.sh
build_if_stale

# --- processes, temp dir, cleanup -----------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-bench.XXXXXX")"
# Every process started here is a background job of this shell, so `jobs -p` lists exactly those still
# running. wrk runs in the background too (see load): in the foreground it catches Ctrl-C itself, exits 0,
# and bash then ignores the interrupt and carries on.
cleanup() {
  local children
  children="$(jobs -p)"
  if [ -n "$children" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -TERM $children 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

# Runs the command given every 0.1 s until it succeeds, for up to 10 s.
wait_until() {
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "gave up waiting for: $*" >&2; return 1
}

say "bun $(bun --version), $(dist/ledgerd version | head -1), $(nproc) cores, client $client, temp dir $tmp"
say "starting the hello-world: bun scripts/bench/hello.ts"
bun scripts/bench/hello.ts >"$tmp/hello.out" &
wait_until grep -q '^[0-9]' "$tmp/hello.out"
hello_url="http://127.0.0.1:$(cat "$tmp/hello.out")"

# Free ports are picked first (held together, so they differ) because --log-level warn hides the
# "listening" line that --port 0 would report them in.
free_ports() { bun -e 'const s = [0, 0].map(() => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }))
  console.log(s.map((l) => l.port).join(" ")); for (const l of s) l.stop(true)'; }
declare -A api admin pid_of
for variant in $variants; do
  read -r api_port admin_port <<<"$(free_ports)"
  flags=(--host 127.0.0.1 --port "$api_port" --admin-host 127.0.0.1 --admin-port "$admin_port"
    --data-dir "$tmp/data-$variant")
  [ "$variant" = warn ] && flags+=(--log-level warn)
  say "starting dist/ledgerd serve ${flags[*]} (stdout, the JSON log, to a file)"
  dist/ledgerd serve "${flags[@]}" >"$tmp/ledgerd-$variant.log" 2>&1 &
  pid_of[$variant]=$!
  api[$variant]="http://127.0.0.1:$api_port" admin[$variant]="http://127.0.0.1:$admin_port"
  wait_until curl -fsS "${admin[$variant]}/readyz" || { cat "$tmp/ledgerd-$variant.log"; exit 1; }
  say "setup through ${api[$variant]}: $users users, $accounts_per_user USD accounts each, funded"
  bun scripts/bench/setup.ts "${api[$variant]}" "$users" "$accounts_per_user" "$initial_deposit" \
    "$tmp/accounts-$variant"
done
first="${variants%% *}" # the ledgerd that the peer and the open loop are measured against
# Its database in $tmp: on the same disk as ledgerd's, and removed with it.
say "starting the peer: bun scripts/bench/peer.ts (plain Bun + SQLite) on ledger-$first's accounts," \
  "each with $initial_deposit"
TMPDIR="$tmp" bun scripts/bench/peer.ts "$tmp/accounts-$first" "$initial_deposit" >"$tmp/peer.out" 2>&1 &
peer_pid=$!
wait_until grep -q '^[0-9]' "$tmp/peer.out" || { cat "$tmp/peer.out"; exit 1; }
peer_url="http://127.0.0.1:$(grep -m1 '^[0-9]' "$tmp/peer.out")"

# --- load -----------------------------------------------------------------------------------------------
# load <name> <url> <accounts file|-> <seconds> <mix>: runs the client, appends its RESULT line to $tmp/<name>.
run=0
load() {
  run=$((run + 1))
  if [[ "$1" = *open-* ]]; then # open-<rate>, or warmup-open-<rate>
    bun scripts/bench/open-loop.ts "$2" "$3" "${1##*open-}" "$4" "run$run" >"$tmp/out" &
  elif [ "$2" = writer ]; then
    bun scripts/bench/writer-ceiling.ts "$tmp/writer-$run" "$4" "${1#writer-}" "$((users * accounts_per_user))" \
      >"$tmp/out" &
  elif [ "$client" = wrk ]; then
    wrk -t"$threads" -c"$connections" -d"$4s" --timeout 2s --latency -s scripts/bench/mixed.lua "$2" \
      -- "$3" "run$run" "$5" >"$tmp/out" &
  else
    bun scripts/bench/autocannon.ts "$2" "$4" "$connections" "$3" "run$run" "$5" >"$tmp/out" &
  fi
  wait $!
  grep '^RESULT' "$tmp/out" | sed "s/^RESULT/$1/" >>"$tmp/$1" || { cat "$tmp/out"; exit 1; }
}
targets=hello
for variant in $variants; do targets+=" ledger-$variant"; done
targets+=" peer"
# writer-64: the load's concurrency. writer-256: bigger batches, so a more generous throughput ceiling.
[ "$writer_ceiling" = true ] && targets+=" writer-64 writer-256"
# Open loop against the first ledgerd, after the closed-loop rounds (whose CPU and commit figures are
# taken before these start): warm, same data.
open_targets=
for rate in $rates; do open_targets+=" open-$rate"; done
target_args() { # url, accounts file and mix of a target
  case "$1" in
    hello) echo "$hello_url - hello" ;;
    writer-*) echo "writer - writes" ;;
    open-*) echo "${api[$first]} $tmp/accounts-$first $mix" ;;
    peer) echo "$peer_url $tmp/accounts-$first $mix" ;;
    ledger-*) echo "${api[${1#ledger-}]} $tmp/accounts-${1#ledger-} $mix" ;;
  esac
}
say "$client: $threads threads, $connections connections, ${duration}s per run, ${warmup}s warm-up, $rounds rounds"
for target in $targets; do
  [[ "$target" = writer-* ]] && continue # a fresh process each run, with its own warm-up
  read -r url accounts target_mix <<<"$(target_args "$target")"
  say "warm-up $target (${warmup}s, $target_mix)"
  load "warmup-$target" "$url" "$accounts" "$warmup" "$target_mix"
  sed 's/^/    /' "$tmp/warmup-$target"
done
# CPU time of a process so far, in clock ticks (user + system, all its threads).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A ticks_before
for variant in $variants; do
  curl -fsS "${admin[$variant]}/metrics" >"$tmp/metrics-before-$variant"
  ticks_before[$variant]="$(cpu_ticks "${pid_of[$variant]}")"
done
peer_ticks_before="$(cpu_ticks "$peer_pid")"
# run_rounds <targets>: each round runs every target once, in order, except that even rounds run the
# peer before ledgerd, so that neither always follows the other (or the hello-world).
run_rounds() {
  local order
  for round in $(seq "$rounds"); do
    order="$1"
    if [ $((round % 2)) = 0 ]; then order="$(sed -E 's/((ledger-[^ ]+ )+)peer/peer \1/' <<<"$order")"; fi
    for target in $order; do
      run_one "$round" "$target"
    done
  done
}
run_one() {
  local round=$1 target=$2 url accounts target_mix
  read -r url accounts target_mix <<<"$(target_args "$target")"
  if [[ "$target" = open-* ]]; then
    say "round $round: $target (${duration}s, open loop at ${target#open-} req/s offered) against $url"
  elif [[ "$target" = writer-* ]]; then
    say "round $round: $target (${duration}s): bun scripts/bench/writer-ceiling.ts, ${target#writer-} callers"
  else
    say "round $round: $target (${duration}s, $target_mix) against $url"
  fi
  load "$target" "$url" "$accounts" "$duration" "$target_mix"
  sed -n '/Latency Distribution/,/^Requests\/sec/p;/Socket errors/p' "$tmp/out" | sed 's/^/    /'
  tail -1 "$tmp/$target" | sed 's/^/    /'
}
run_rounds "$targets"
declare -A ticks_during
for variant in $variants; do
  curl -fsS "${admin[$variant]}/metrics" >"$tmp/metrics-after-$variant"
  ticks_during[$variant]="$(($(cpu_ticks "${pid_of[$variant]}") - ticks_before[$variant]))"
done
peer_ticks_during="$(($(cpu_ticks "$peer_pid") - peer_ticks_before))"
if [ -n "$open_targets" ]; then
  first_open="${open_targets# }" && first_open="${first_open%% *}"
  read -r url accounts target_mix <<<"$(target_args "$first_open")"
  say "warm-up $first_open (${warmup}s, open loop): the server has just switched from the closed loop"
  load "warmup-$first_open" "$url" "$accounts" "$warmup" "$target_mix"
  run_rounds "$open_targets"
fi

# --- report ---------------------------------------------------------------------------------------------
field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" "$tmp/$1"; }
middle() { sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
median() { field "$1" "$2" | middle; }
met() { if awk "BEGIN {exit !($1)}"; then echo met; else echo missed; fi; }
total() { field "$1" "$2" | awk '{s += $1} END {print s + 0}'; }

hello_rps="$(median hello rps)"
echo
say "results: medians of $rounds runs of ${duration}s each (errors: totals over the runs)"
printf '%-14s %10s %9s %9s %9s %12s %9s %9s %9s %9s\n' target 'req/s' 'p50 ms' 'p99 ms' 2xx \
  insufficient 'other 4xx' 5xx socket timeout
for target in $targets $open_targets; do
  printf '%-14s %10.0f %9.2f %9.2f %9d %12d %9d %9d %9d %9d\n' "$target" "$(median "$target" rps)" \
    "$(median "$target" p50_ms)" "$(median "$target" p99_ms)" "$(total "$target" ok)" \
    "$(total "$target" insufficient)" "$(($(total "$target" http4xx) + $(total "$target" other)))" \
    "$(total "$target" http5xx)" "$(total "$target" socket)" "$(total "$target" timeout)"
done
echo
# Line N of each target's results is its run in round N.
say "ledger-$first against the peer, round by round (same client settings, mix and accounts)"
paste -d ' ' <(field hello rps) <(field "ledger-$first" rps) <(field peer rps) <(field "ledger-$first" p50_ms) \
  <(field "ledger-$first" p99_ms) <(field peer p50_ms) <(field peer p99_ms) >"$tmp/rounds"
printf '%5s %11s %12s %10s %12s %11s %11s %9s %9s\n' round 'hello req/s' 'ledger req/s' 'peer req/s' \
  'ledger/peer' 'ledger p50' 'ledger p99' 'peer p50' 'peer p99'
awk '{printf "%5d %11.0f %12.0f %10.0f %12.2f %11.2f %11.2f %9.2f %9.2f\n",
  NR, $1, $2, $3, ($3 ? $2 / $3 : 0), $4, $5, $6, $7}' "$tmp/rounds"
peer_ratio="$(awk '{print ($3 ? $2 / $3 : 0)}' "$tmp/rounds" | middle)"
printf 'ledger-%s / peer: %.2f (median of the %d per-round ratios)\n' "$first" "$peer_ratio" "$rounds"
echo
for variant in $variants; do
  rps="$(median "ledger-$variant" rps)"
  printf 'ledger-%s (mix %s): %.0f / %.0f req/s = %.1f %% of the hello-world ceiling\n' \
    "$variant" "$mix" "$rps" "$hello_rps" "$(awk "BEGIN {print 100 * $rps / $hello_rps}")"
  errors=$(($(total "ledger-$variant" http4xx) + $(total "ledger-$variant" http5xx) +
    $(total "ledger-$variant" other) + $(total "ledger-$variant" socket) + $(total "ledger-$variant" timeout)))
  [ "$errors" = 0 ] || echo "ledger-$variant: $errors errors (other 4xx, 5xx, socket, timeout): see the table"
  # The server's own histograms over the measured rounds: the difference of two scrapes.
  awk -v v="ledger-$variant" '
    { sign = FNR == NR ? -1 : 1 }
    /^ledger_commit_batch_size_sum/ {bs += sign * $2} /^ledger_commit_batch_size_count/ {bc += sign * $2}
    /^ledger_commit_duration_seconds_sum/ {ds += sign * $2}
    END {
      if (bc) printf "%s: %d group commits in the rounds, mean batch %.1f writes, mean commit %.2f ms\n",
        v, bc, bs / bc, 1000 * ds / bc
      else print v ": no group commits in the rounds"
    }' "$tmp/metrics-before-$variant" "$tmp/metrics-after-$variant"
  # Idle during the other targets' rounds, so this is its CPU use while under load.
  awk -v v="ledger-$variant" -v t="${ticks_during[$variant]}" \
    -v hz="$(getconf CLK_TCK)" -v s="$((rounds * duration))" \
    'BEGIN {printf "%s: %.2f cores busy during its rounds (Bun runs JavaScript on one)\n", v, t / hz / s}'
  echo "ledger-$variant: log written: $(wc -l <"$tmp/ledgerd-$variant.log") lines, $(du -h "$tmp/ledgerd-$variant.log" | cut -f1)"
done
awk -v t="$peer_ticks_during" -v hz="$(getconf CLK_TCK)" -v s="$((rounds * duration))" \
  'BEGIN {printf "peer: %.2f cores busy during its rounds (one thread)\n", t / hz / s}'
if [ "$writer_ceiling" = true ]; then
  # 90 % of the mixed load's requests are writes, and every write goes through the one writer thread.
  for target in writer-64 writer-256; do
    writes="$(median "$target" rps)"
    printf '%s (no HTTP): %.0f durable writes/s, p99 %.2f ms, mean batch %.0f: bounds a mix of 90 %% writes\n' \
      "$target" "$writes" "$(median "$target" p99_ms)" "$(median "$target" mean_batch)"
    printf '  to %.0f / 0.9 = %.0f req/s = %.1f %% of the hello-world ceiling\n' "$writes" \
      "$(awk "BEGIN {print $writes / 0.9}")" "$(awk "BEGIN {print 100 * $writes / 0.9 / $hello_rps}")"
  done
fi
for rate in $rates; do
  p99="$(median "open-$rate" p99_ms)" late="$(total "open-$rate" late)"
  # Late requests were never sent, so they are not in the percentiles: any at all voids the verdict.
  printf 'open loop at %d req/s offered: %.0f answered/s, p50 %.2f ms, p99 %.2f ms, %d late (p99 < 10 ms, none late: %s)\n' \
    "$rate" "$(median "open-$rate" rps)" "$(median "open-$rate" p50_ms)" "$p99" "$late" \
    "$(met "$p99 < 10 && $late == 0")"
done

# --- consistency ----------------------------------------------------------------------------------------
echo
consistent=true
for variant in $variants; do
  say "consistency of ledger-$variant through the API (balance = sum of postings over every page)"
  bun scripts/bench/check.ts "${api[$variant]}" "$tmp/accounts-$variant" "$check_sample" || consistent=false
  say "stopping ledger-$variant (SIGTERM) and waiting for exit 0"
  kill -TERM "${pid_of[$variant]}"
  rc=0 && wait "${pid_of[$variant]}" || rc=$?
  [ "$rc" = 0 ] || { echo "ledgerd exited $rc"; tail -5 "$tmp/ledgerd-$variant.log"; consistent=false; }
  say "dist/ledgerd verify --data-dir $tmp/data-$variant"
  dist/ledgerd verify --data-dir "$tmp/data-$variant" || consistent=false
done
say "stopping the peer (SIGTERM): it checks each balance against the sum of its journal rows, exits 0 if equal"
kill -TERM "$peer_pid"
rc=0 && wait "$peer_pid" || rc=$?
grep -v '^[0-9]*$' "$tmp/peer.out" || true
[ "$rc" = 0 ] || { echo "the peer exited $rc"; consistent=false; }

# --- targets --------------------------------------------------------------------------------------------
echo
say "targets, for ledger-$first (met or missed; a measurement: the exit status does not depend on them)"
[ "$mix" = mixed ] || echo "(the targets are for the mixed load; this run used --mix $mix)"
closed_p99="$(median "ledger-$first" p99_ms)"
printf "mixed load >= 1.5x the peer's req/s (median of the per-round ratios): %.2fx: %s\n" "$peer_ratio" \
  "$(met "$peer_ratio >= 1.5")"
printf 'p99 < 10 ms at %d connections, closed loop (median of the rounds): %.2f ms: %s\n' "$connections" \
  "$closed_p99" "$(met "$closed_p99 < 10")"
if [[ " $rates " = *" 10000 "* ]]; then
  p99="$(median open-10000 p99_ms)" late="$(total open-10000 late)"
  printf 'open-loop p99 < 10 ms at 10,000 req/s offered (none late): p99 %.2f ms, %d late: %s\n' "$p99" "$late" \
    "$(met "$p99 < 10 && $late == 0")"
else
  echo 'open-loop p99 < 10 ms at 10,000 req/s offered: not measured (--rates has no 10000)'
fi
echo
if [ "$consistent" = true ]; then say "consistency: PASS"; else say "consistency: FAIL"; exit 1; fi
