# Sourced by the image scripts: makes sure Debian's buildah is installed and defines `bah`, buildah on
# the vfs storage driver (works without overlayfs or fuse; every call must use the same driver, or
# containers/storage refuses the store). Sourced, never run; exits the caller when buildah is missing
# and cannot be installed.
# Usage: source scripts/buildah-env.sh; bah ARGS...
# shellcheck shell=bash
# Run instead of sourced: this header on --help, else a usage error (nothing else runs).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case ${1:-} in
    -h | --help) sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: source scripts/buildah-env.sh (sourced, not run)" >&2; exit 2 ;;
  esac
fi
if ! command -v buildah >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "buildah is missing; install it (Debian: apt-get install buildah) or run as root to let this script do it" >&2
    exit 1
  fi
  echo "==> installing Debian's buildah (apt-get)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah; } >&2
fi
bah() { buildah --storage-driver vfs "$@"; }
