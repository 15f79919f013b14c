#!/usr/bin/env bash
# Two ledgerd binaries under the same mixed load, alternating: for "is this build faster than that one?"
# in one run on this noisy machine. Each binary gets its own data dir, the same setup (16 users, 64 funded
# USD accounts), and wrk rounds with the benchmark's settings (2 threads, 64 connections, mixed.lua),
# A then B, round after round. Prints each round's RESULT line. Only 127.0.0.1; stops by itself.
# Usage: scripts/bench/ab.sh <binary A> <binary B> [rounds=3] [seconds=15] [mix A=mixed] [mix B=mix A]
#   e.g. git worktree add /tmp/old <commit> && (cd /tmp/old && bash scripts/build.sh)
#        scripts/bench/ab.sh /tmp/old/dist/ledgerd dist/ledgerd
#   or one binary, two mixes (mixed.lua's names): ab.sh dist/ledgerd dist/ledgerd 3 10 mixed mixed-unkeyed
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; }
a=$(realpath "$1") b=$(realpath "$2") rounds=${3:-3} seconds=${4:-15}
declare -A mix=([a]=${5:-mixed} [b]=${6:-${5:-mixed}})
cd "$(dirname "$0")/../.."
source scripts/ensure-bun.sh
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-ab.XXXXXX")
cleanup() {
  local children
  children="$(jobs -p)"
  # shellcheck disable=SC2086 # one pid per word
  [ -z "$children" ] || { kill -TERM $children 2>/dev/null || true; wait 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { bun -e 'const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }); console.log(s.port); s.stop(true)'; }
declare -A url
for side in a b; do
  binary=$a; [ "$side" = b ] && binary=$b
  api=$(free_port) admin=$(free_port)
  echo "==> $side: $binary serve on 127.0.0.1:$api"
  "$binary" serve --host 127.0.0.1 --port "$api" --admin-host 127.0.0.1 --admin-port "$admin" \
    --data-dir "$tmp/data-$side" >"$tmp/$side.log" 2>&1 &
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  url[$side]="http://127.0.0.1:$api"
  bun scripts/bench/setup.ts "${url[$side]}" 16 4 1000000 "$tmp/accounts-$side" >/dev/null
done
run=0
for round in $(seq "$rounds"); do
  for side in a b; do
    run=$((run + 1))
    wrk -t2 -c64 -d"${seconds}s" --timeout 2s --latency -s scripts/bench/mixed.lua "${url[$side]}" \
      -- "$tmp/accounts-$side" "ab$run" "${mix[$side]}" | grep '^RESULT' | sed "s/^RESULT/round $round $side/"
  done
done
