#!/usr/bin/env bash
# Quick start: build the binary, then run `ledgerd serve` on its embedded defaults (API :8080, admin
# :8081, data in ./data). Extra arguments go to `serve`, e.g. scripts/start.sh --port 9090.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
echo "==> dist/ledgerd serve $*" >&2
exec dist/ledgerd serve "$@"
