# Sourced by the other scripts: puts the Bun version pinned in package.json ("packageManager") on PATH,
# installing it from the npm registry into .tools/ when the machine has no Bun or a different version.
# Sourced, never run (it changes the caller's PATH); no `set -e` here, for the same reason.
# Usage: source scripts/ensure-bun.sh
# shellcheck shell=bash
# Run instead of sourced: this header on --help, else a usage error (nothing else runs).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case ${1:-} in
    -h | --help) sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: source scripts/ensure-bun.sh (sourced, not run)" >&2; exit 2 ;;
  esac
fi
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUN_VERSION="$(sed -n 's/.*"packageManager": *"bun@\([^"]*\)".*/\1/p' "$_root/package.json")"
if ! command -v bun >/dev/null 2>&1 || [ "$(bun --version)" != "$BUN_VERSION" ]; then
  _tools="$_root/.tools"
  if [ ! -x "$_tools/node_modules/.bin/bun" ] || [ "$("$_tools/node_modules/.bin/bun" --version)" != "$BUN_VERSION" ]; then
    echo "==> installing bun@$BUN_VERSION from the npm registry into .tools/" >&2
    mkdir -p "$_tools"
    npm install --prefix "$_tools" --no-save --no-audit --no-fund --loglevel=error "bun@$BUN_VERSION" >&2
  fi
  export PATH="$_tools/node_modules/.bin:$PATH"
fi
unset _root _tools
