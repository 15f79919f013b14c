#!/usr/bin/env bash
# Builds ledgerd's multi-platform image with docker buildx and pushes it, with SBOM and provenance
# attestations (--sbom=true --provenance=mode=max). Tags: sha-<12 hex of HEAD> always; when HEAD is a
# release tag vX.Y.Z (GITHUB_REF_NAME when GITHUB_REF_TYPE is tag, or GITHUB_REF_NAME alone outside
# GitHub, else `git describe --exact-match --tags`), also X.Y.Z, X.Y and X; a prerelease vX.Y.Z-rc.1 gets
# only X.Y.Z-rc.1; any other tag only the sha. Never `latest`. Prints `image: <name>@<digest>` on stdout
# and writes the digest (sha256:...) to --digest-file. Registry login is the caller's (docker login, or
# the workflow's login action): this script never sees a password.
# --dry-run prints the tags and the buildx command and builds, stages and pushes nothing (no docker
# needed). The real push needs a Docker engine with buildx and a registry login.
# Usage: scripts/push.sh --image NAME [--platforms linux/amd64,linux/arm64] [--dry-run] [--digest-file PATH]
#   NAME: the repository without a tag, e.g. ghcr.io/OWNER/ledgerd
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/image-context.sh
source scripts/lib/image-context.sh

usage() {
  echo "usage: scripts/push.sh --image NAME [--platforms linux/amd64,linux/arm64] [--dry-run] [--digest-file PATH]" >&2
  exit 2
}
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
say() { echo "push: $*" >&2; }

image=""
platforms=linux/amd64,linux/arm64
dry_run=false
digest_file=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) help ;;
    --image) [ $# -ge 2 ] || usage; image=$2; shift ;;
    --platforms) [ $# -ge 2 ] || usage; platforms=$2; shift ;;
    --digest-file) [ $# -ge 2 ] || usage; digest_file=$2; shift ;;
    --dry-run) dry_run=true ;;
    *) usage ;;
  esac
  shift
done
[ -n "$image" ] || usage
if [[ ${image##*/} == *[:@]* ]]; then say "--image takes a name without a tag or digest: $image"; exit 2; fi

sha="$(git rev-parse HEAD)"
tags=("sha-${sha:0:12}")
ref_tag=""
if [ -n "${GITHUB_REF_TYPE:-}" ]; then
  if [ "$GITHUB_REF_TYPE" = tag ]; then ref_tag=${GITHUB_REF_NAME:-}; fi
elif [ -n "${GITHUB_REF_NAME:-}" ]; then
  ref_tag=$GITHUB_REF_NAME
else
  ref_tag=$(git describe --exact-match --tags HEAD 2>/dev/null || true)
fi
semver='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$'
if [[ $ref_tag =~ $semver ]]; then
  if [ -n "${BASH_REMATCH[4]}" ]; then
    tags+=("${ref_tag#v}")
  else
    major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}
    tags+=("$major.$minor.$patch" "$major.$minor" "$major")
  fi
elif [ -n "$ref_tag" ]; then
  say "tag $ref_tag is not vX.Y.Z: only the sha tag"
fi

image_build_args ""
command=(docker buildx build --platform "$platforms" "${image_build_args_out[@]}"
  --sbom=true --provenance=mode=max --push)
for tag in "${tags[@]}"; do command+=(-t "$image:$tag"); done
command+=(--metadata-file dist/image-metadata.json .)

say "tags: ${tags[*]}"
if [ "$dry_run" = true ]; then
  for tag in "${tags[@]}"; do echo "tag: $image:$tag"; done
  echo "command: ${command[*]}"
  say "dry run: nothing built or pushed"
  exit 0
fi

if ! command -v docker >/dev/null 2>&1 || ! docker buildx version >/dev/null 2>&1; then
  say "docker with buildx is needed to push (or use --dry-run)"
  exit 1
fi
IFS=, read -r -a platform_list <<<"$platforms"
stage_image_context "${platform_list[@]}"
rm -f dist/image-metadata.json
say "${command[*]}"
"${command[@]}" >&2
digest=$(sed -n 's/.*"containerimage.digest": *"\(sha256:[0-9a-f]\{64\}\)".*/\1/p' dist/image-metadata.json | head -1)
[ -n "$digest" ] || { say "buildx wrote no image digest to dist/image-metadata.json"; exit 1; }
[ -z "$digest_file" ] || echo "$digest" >"$digest_file"
echo "image: $image@$digest"
