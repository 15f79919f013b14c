#!/usr/bin/env bash
# Builds the self-contained binary: dist/ledgerd (linux-x64), or dist/ledgerd-linux-arm64 with --arm64.
# Usage: scripts/build.sh [--arm64|--x64] [--outfile PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }

target=linux-x64
outfile=
while [ $# -gt 0 ]; do
  case "$1" in
    --arm64) target=linux-arm64 ;;
    --x64) target=linux-x64 ;;
    --outfile) outfile="$2"; shift ;;
    -h | --help) help ;;
    *) echo "usage: scripts/build.sh [--arm64|--x64] [--outfile PATH]" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$outfile" ] || outfile="dist/ledgerd$([ "$target" = linux-x64 ] || echo "-$target")"

bash scripts/install.sh
source scripts/ensure-bun.sh

version="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' package.json)"
commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi

echo "==> building $outfile ($target, version $version, commit $commit)" >&2
mkdir -p "$(dirname "$outfile")"
# Full --minify renames identifiers Elysia compiles handlers from, so only whitespace and syntax are
# minified. NODE_ENV is inlined at build time. The binary must not read .env or bunfig.toml from
# whatever directory it is started in.
# The writer threads (the ledger's, the users') and the hashing threads are entrypoints too: the binary
# embeds them and `new Worker` finds them.
bun build src/main.ts src/ledger/sqlite/writer-worker.ts src/users/sqlite-writer-worker.ts \
  src/auth/hasher-worker.ts \
  --compile \
  --target="bun-$target" \
  --format=esm \
  --bytecode \
  --minify-whitespace --minify-syntax \
  --sourcemap=inline \
  --no-compile-autoload-dotenv \
  --no-compile-autoload-bunfig \
  --define process.env.NODE_ENV='"production"' \
  --define LEDGERD_VERSION="\"$version\"" \
  --define LEDGERD_COMMIT="\"$commit\"" \
  --define LEDGERD_TARGET="\"$target\"" \
  --outfile "$outfile" >&2
ls -l "$outfile" >&2
