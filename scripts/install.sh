#!/usr/bin/env bash
# Installs the pinned Bun (if missing) and the locked dependencies. Safe to run repeatedly.
# Usage: scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
case ${1:-} in
  -h | --help) help ;;
  "") ;;
  *) echo "usage: scripts/install.sh" >&2; exit 2 ;;
esac
source scripts/ensure-bun.sh
echo "==> bun install --frozen-lockfile (bun $(bun --version))" >&2
bun install --frozen-lockfile >&2
