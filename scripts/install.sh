#!/usr/bin/env bash
# Installs the pinned Bun (if missing) and the locked dependencies. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-bun.sh
echo "==> bun install --frozen-lockfile (bun $(bun --version))" >&2
bun install --frozen-lockfile >&2
