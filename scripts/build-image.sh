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

usage() {
  echo "usage: scripts/build-image.sh [--platform P[,P]] [--base IMAGE] [--standin] [--tag NAME] [--source URL] [--engine docker|buildah]" >&2
  exit 2
}
version="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' package.json)"
platforms=linux/amd64
base=
standin=false
tag="ledgerd:$version"
source_url="$(git remote get-url origin 2>/dev/null || echo unknown)"
engine=
while [ $# -gt 0 ]; do
  case "$1" in
    --platform) platforms="${2:?}"; shift ;;
    --base) base="${2:?}"; shift ;;
    --standin) standin=true ;;
    --tag) tag="${2:?}"; shift ;;
    --source) source_url="${2:?}"; shift ;;
    --engine) engine="${2:?}"; shift ;;
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

# The build context holds only dist/image/ (.dockerignore): one binary per architecture, named by
# Docker's TARGETARCH, hard-linked from scripts/build.sh's outputs (no copy), and an empty data dir.
rm -rf dist/image
mkdir -p dist/image/data
IFS=, read -r -a platform_list <<<"$platforms"
for platform in "${platform_list[@]}"; do
  case "$platform" in
    linux/amd64) arch=amd64 binary=dist/ledgerd build_flag=--x64 ;;
    linux/arm64) arch=arm64 binary=dist/ledgerd-linux-arm64 build_flag=--arm64 ;;
    *) echo "unsupported platform $platform (linux/amd64, linux/arm64)" >&2; exit 2 ;;
  esac
  [ -x "$binary" ] || bash scripts/build.sh "$build_flag"
  mkdir -p "dist/image/$arch"
  ln -f "$binary" "dist/image/$arch/ledgerd" 2>/dev/null || cp "$binary" "dist/image/$arch/ledgerd"
done

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
# The revision label is HEAD's; say so when the binary was built from something else (run only if it can).
built_from="$(dist/image/amd64/ledgerd version --json 2>/dev/null | sed -n 's/.*"commit":"\([^"]*\)".*/\1/p' || true)"
if [ -n "$built_from" ] && [ "$built_from" != "${revision:0:12}" ]; then
  echo "warning: dist/ledgerd was built from $built_from, HEAD is ${revision:0:12}; rebuild it (scripts/build.sh) for a release" >&2
fi
created="$(git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)"
build_args=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source_url"
  --build-arg "CREATED=$created")

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
