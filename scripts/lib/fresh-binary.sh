# Sourced by scripts/bench.sh and the benchmarks under scripts/bench/: dist/ledgerd, rebuilt only when
# it is missing or older than anything it is built from, so a benchmark never measures stale code.
# Defines functions only; never exits the shell that sources it. Run from the repository root.
# Usage: source scripts/lib/fresh-binary.sh; build_if_stale; binary="$(binary_to_measure "$binary")"
# shellcheck shell=bash
# Run instead of sourced: this header on --help, else a usage error (nothing else runs).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case ${1:-} in
    -h | --help) sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: source scripts/lib/fresh-binary.sh (a library, not a command)" >&2; exit 2 ;;
  esac
fi

build_if_stale() {
  if [ ! -x dist/ledgerd ] || [ -n "$(find src package.json bun.lock -newer dist/ledgerd -print -quit)" ]; then
    printf '==> %s\n' "dist/ledgerd is missing or older than src/: building"
    bash scripts/build.sh
  else
    printf '==> %s\n' "dist/ledgerd is newer than src/: not rebuilding"
  fi
}

# The build a benchmark's --binary named, as is; without one, dist/ledgerd, fresh (progress on stderr).
binary_to_measure() {
  if [ -n "${1:-}" ]; then
    printf '%s\n' "$1"
  else
    build_if_stale >&2
    printf '%s\n' dist/ledgerd
  fi
}
