#!/usr/bin/env bash
# Builds ledgerd's container image from the Dockerfile: with `docker buildx` where a Docker engine
# answers, otherwise with Debian's buildah (vfs storage, chroot isolation, never pulling: the base must
# already be in buildah's local store, e.g. the stand-in from scripts/image-base-standin.sh). Builds the
# binary for each platform first if dist/ has none, and tags ledgerd:<version from package.json>.
# Usage: scripts/build-image.sh [--platform linux/amd64[,linux/arm64]] [--base IMAGE] [--standin]
#                               [--tag NAME] [--source URL] [--engine docker|buildah]
#   --base IMAGE  build on IMAGE instead of the digest pinned in the Dockerfile
#   --standin     build on the local distroless stand-in (builds it if missing; host architecture only)
#   --platform    one platform, or several (docker: one multi-platform image; buildah: a manifest list)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/image-context.sh
source scripts/lib/image-context.sh

usage() {
  echo "usage: scripts/build-image.sh [--platform P[,P]] [--base IMAGE] [--standin] [--tag NAME] [--source URL] [--engine docker|buildah]" >&2
  exit 2
}
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
version="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' package.json)"
platforms=linux/amd64
base=
standin=false
tag="ledgerd:$version"
source_url=
engine=
while [ $# -gt 0 ]; do
  case "$1" in
    --platform) platforms="${2:?}"; shift ;;
    --base) base="${2:?}"; shift ;;
    --standin) standin=true ;;
    --tag) tag="${2:?}"; shift ;;
    --source) source_url="${2:?}"; shift ;;
    --engine) engine="${2:?}"; shift ;;
    -h | --help) help ;;
    *) usage ;;
  esac
  shift
done
if [ -z "$engine" ]; then
  # A docker CLI without a reachable engine (or without buildx) cannot build: fall back to buildah.
  if command -v docker >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
  else
    engine=buildah
  fi
fi
[ "$engine" = docker ] || [ "$engine" = buildah ] || usage

IFS=, read -r -a platform_list <<<"$platforms"
stage_image_context "${platform_list[@]}"
image_build_args "$source_url"
build_args=("${image_build_args_out[@]}")

if [ "$standin" = true ]; then
  [ -z "$base" ] || { echo "--base and --standin are exclusive" >&2; exit 2; }
  base="$(bash scripts/image-base-standin.sh)"
fi
[ -z "$base" ] || build_args+=(--build-arg "BASE=$base")

echo "==> building $tag for $platforms with $engine${base:+ on $base}" >&2
if [ "$engine" = docker ]; then
  # Several platforms cannot be loaded into the local engine: push with --output or docker buildx --push.
  load=(--load)
  [ "${#platform_list[@]}" -eq 1 ] || load=()
  docker buildx build --platform "$platforms" "${build_args[@]}" "${load[@]}" -t "$tag" .
else
  # shellcheck source=scripts/buildah-env.sh
  source scripts/buildah-env.sh
  # Docker format: the OCI image config has no HEALTHCHECK, and buildah drops it there.
  bud=(bud --format docker --isolation chroot --pull=never --layers=false "${build_args[@]}")
  if [ "${#platform_list[@]}" -eq 1 ]; then
    bah "${bud[@]}" --platform "$platforms" -t "$tag" .
  else
    bah manifest rm "$tag" >/dev/null 2>&1 || true
    bah "${bud[@]}" --platform "$platforms" --manifest "$tag" .
  fi
fi
echo "$tag"
