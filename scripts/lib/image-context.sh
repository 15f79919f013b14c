# Sourced by scripts/build-image.sh and scripts/push.sh: the image's build context and build arguments,
# the same for a local build and a pushed one. Defines functions only; never exits the shell that
# sources it. Run from the repository root.
# Usage: source scripts/lib/image-context.sh; image_build_args [SOURCE_URL]; stage_image_context PLATFORM...
# shellcheck shell=bash
# Run instead of sourced: this header on --help, else a usage error (nothing else runs).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case ${1:-} in
    -h | --help) sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: source scripts/lib/image-context.sh (a library, not a command)" >&2; exit 2 ;;
  esac
fi

# image_build_args [SOURCE_URL]: sets the array image_build_args_out to the Dockerfile's --build-arg
# flags (version from package.json, HEAD's revision and commit time, the source URL).
image_build_args() {
  local version revision created source_url=${1:-}
  version="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' package.json)"
  revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  created="$(git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)"
  [ -n "$source_url" ] || source_url="$(git remote get-url origin 2>/dev/null || echo unknown)"
  # shellcheck disable=SC2034 # read by the sourcing script
  image_build_args_out=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision"
    --build-arg "SOURCE=$source_url" --build-arg "CREATED=$created")
}

# stage_image_context PLATFORM...: the build context holds only dist/image/ (.dockerignore): one binary
# per architecture, named by Docker's TARGETARCH, hard-linked from scripts/build.sh's outputs (built
# when missing), and an empty data dir. Returns 2 on a platform it cannot build.
stage_image_context() {
  local platform arch binary build_flag revision built_from
  rm -rf dist/image
  mkdir -p dist/image/data
  for platform in "$@"; do
    case "$platform" in
      linux/amd64) arch=amd64 binary=dist/ledgerd build_flag=--x64 ;;
      linux/arm64) arch=arm64 binary=dist/ledgerd-linux-arm64 build_flag=--arm64 ;;
      *) echo "unsupported platform $platform (linux/amd64, linux/arm64)" >&2; return 2 ;;
    esac
    [ -x "$binary" ] || bash scripts/build.sh "$build_flag" || return
    mkdir -p "dist/image/$arch"
    ln -f "$binary" "dist/image/$arch/ledgerd" 2>/dev/null || cp "$binary" "dist/image/$arch/ledgerd"
  done
  revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  # The revision label is HEAD's; say so when the binary was built from something else (run only if it can).
  built_from="$(dist/image/amd64/ledgerd version --json 2>/dev/null | sed -n 's/.*"commit":"\([^"]*\)".*/\1/p' || true)"
  if [ -n "$built_from" ] && [ "$built_from" != "${revision:0:12}" ]; then
    echo "warning: dist/ledgerd was built from $built_from, HEAD is ${revision:0:12}; rebuild it (scripts/build.sh) for a release" >&2
  fi
}
