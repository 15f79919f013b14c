#!/usr/bin/env bash
# Quick start: build the binary, then run `ledgerd serve` on its embedded defaults (API :8080, admin
# :8081, data in ./data). Extra arguments go to `serve`, e.g. scripts/start.sh --port 9090
# (`dist/ledgerd serve --help` lists them).
# Usage: scripts/start.sh [SERVE OPTION...]
set -euo pipefail
cd "$(dirname "$0")/.."
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
case ${1:-} in -h | --help) help ;; esac
bash scripts/build.sh
echo "==> dist/ledgerd serve $*" >&2
exec dist/ledgerd serve "$@"
