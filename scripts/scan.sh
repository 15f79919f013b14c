#!/usr/bin/env bash
# Trivy on an image or on the repository (the lockfile, and whatever else Trivy's filesystem scanners
# find): fails (exit 1) on a HIGH or CRITICAL vulnerability that has a fix (--severity HIGH,CRITICAL
# --ignore-unfixed --exit-code 1), and writes SARIF when asked (for GitHub code scanning). Without
# trivy on PATH it says so and exits 3: never a silent pass. Trivy downloads its vulnerability database
# on first use (needs network access to its database registry).
# Usage: scripts/scan.sh --image REF [--sarif PATH]
#        scripts/scan.sh --fs [DIR] [--sarif PATH]      (DIR defaults to the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/scan.sh --image REF [--sarif PATH] | --fs [DIR] [--sarif PATH]" >&2
  exit 2
}
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
say() { echo "scan: $*" >&2; }

mode=""
target=""
sarif=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) help ;;
    --image)
      if [ $# -lt 2 ] || [ -n "$mode" ]; then usage; fi
      mode=image target=$2
      shift ;;
    --fs)
      [ -z "$mode" ] || usage
      mode=fs target=.
      if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then target=$2; shift; fi ;;
    --sarif) [ $# -ge 2 ] || usage; sarif=$2; shift ;;
    *) usage ;;
  esac
  shift
done
[ -n "$mode" ] || usage

if ! command -v trivy >/dev/null 2>&1; then
  say "trivy is not installed (https://trivy.dev); nothing was scanned, so this is not a pass"
  exit 3
fi

# One run: the gate, and the SARIF (when asked) holds exactly the findings that fail it.
args=("$mode" --severity "HIGH,CRITICAL" --ignore-unfixed --exit-code 1)
if [ -n "$sarif" ]; then args+=(--format sarif --output "$sarif"); else args+=(--format table); fi
say "trivy ${args[*]} $target"
if ! trivy "${args[@]}" "$target" >&2; then
  say "FAILED: fixable HIGH or CRITICAL vulnerabilities in $target, or trivy could not scan it${sarif:+ (see $sarif)}"
  exit 1
fi
say "no fixable HIGH or CRITICAL vulnerabilities in $target"
