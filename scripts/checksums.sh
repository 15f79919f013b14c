#!/usr/bin/env bash
# Writes DIR/SHA256SUMS: the SHA-256 of every regular file directly in DIR (sha256sum's format, names
# relative to DIR, sorted), for a release's binaries. Verify with: (cd DIR && sha256sum -c SHA256SUMS).
# Usage: scripts/checksums.sh DIR
set -euo pipefail

usage() {
  echo "usage: scripts/checksums.sh DIR" >&2
  exit 2
}
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }

case ${1:-} in -h | --help) help ;; -* | "") usage ;; esac
[ $# -eq 1 ] || usage
dir=$1
[ -d "$dir" ] || { echo "checksums: no directory $dir" >&2; exit 2; }

cd "$dir"
files=()
while IFS= read -r -d '' file; do files+=("${file#./}"); done \
  < <(find . -maxdepth 1 -type f ! -name SHA256SUMS -print0 | sort -z)
[ "${#files[@]}" -gt 0 ] || { echo "checksums: no files in $dir" >&2; exit 1; }
echo "checksums: ${files[*]} -> $dir/SHA256SUMS" >&2
sha256sum -- "${files[@]}" >SHA256SUMS.tmp
mv SHA256SUMS.tmp SHA256SUMS
