#!/usr/bin/env bash
# The spaced-hashing benchmark (scripts/bench.sh --spaced-hashing): password hashing on a server that is
# not flooded. One dist/ledgerd as it runs (serve keeps freed memory mapped: src/server/resident-heap.ts)
# against the same binary with the allocator's default put back (MIMALLOC_PURGE_DELAY=10, the baseline),
# alternating round by round; each gets --count sign-ups and then --count logins, one at a time, --gap-ms
# apart (scripts/bench/spaced-hashing.ts). Prints each run, then the medians and baseline/resident
# ratios of login latency and CPU per hash. A measurement, not a test: exits 0 whatever it finds.
#
# Usage: scripts/bench/spaced-hashing.sh [--rounds N] [--count N] [--gap-ms MS] [--binary B]
#   --rounds 3, --count 20, --gap-ms 300 (longer than a hash and than mimalloc's 10 ms purge delay)
#   --binary B   another ledgerd build to measure; default dist/ledgerd, built if older than src/
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=/dev/null
source scripts/ensure-bun.sh
rounds=3 count=20 gap_ms=300 binary=''
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift ;;
    --count) count="$2"; shift ;;
    --gap-ms) gap_ms="$2"; shift ;;
    --binary) binary="$(realpath "$2")"; shift ;;
    -h | --help) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) sed -n '/^# Usage:/,/^[^#]/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
  esac
  shift
done
# shellcheck source=scripts/lib/fresh-binary.sh
source scripts/lib/fresh-binary.sh
say() { printf '==> %s\n' "$*"; }
binary="$(binary_to_measure "$binary")"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-spaced.XXXXXX")"
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
say "bun $(bun --version), $("$binary" version | head -1), $(nproc) cores"

measure() { # measure <label> [VAR=value ...]: one fresh ledgerd, the spaced sign-ups and logins; RESULT line
  local label="$1" api_port admin_port
  shift
  read -r api_port admin_port <<<"$(bun -e 'const s = [0, 0].map(() => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }))
    console.log(s.map((l) => l.port).join(" ")); for (const l of s) l.stop(true)')"
  rm -rf "$tmp/data"
  env "$@" "$binary" serve --host 127.0.0.1 --port "$api_port" --admin-host 127.0.0.1 --admin-port "$admin_port" \
    --data-dir "$tmp/data" --log-level warn >"$tmp/ledgerd.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  bun scripts/bench/spaced-hashing.ts "http://127.0.0.1:$api_port" "$pid" "$count" "$gap_ms" "$label"
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
login_ratios=() cpu_ratios=()
for round in $(seq "$rounds"); do
  say "round $round: $count sign-ups and $count logins, ${gap_ms} ms apart"
  r="$(measure "resident$round")"; echo "  resident: $r"
  b="$(measure "baseline$round" MIMALLOC_PURGE_DELAY=10)"; echo "  baseline: $b"
  login_ratios+=("$(awk -v b="$(field login_ms <<<"$b")" -v r="$(field login_ms <<<"$r")" 'BEGIN { printf "%.2f", b / r }')")
  cpu_ratios+=("$(awk -v b="$(field cpu_ms_per_hash <<<"$b")" -v r="$(field cpu_ms_per_hash <<<"$r")" 'BEGIN { printf "%.2f", b / r }')")
done
say "baseline/resident, median of $rounds rounds: login latency $(median "${login_ratios[@]}") (${login_ratios[*]})," \
  "CPU per hash $(median "${cpu_ratios[@]}") (${cpu_ratios[*]})"
