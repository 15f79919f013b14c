#!/usr/bin/env bash
# Builds a local stand-in for gcr.io/distroless/cc-debian12:nonroot, for machines that cannot pull it
# (CI sandboxes, air-gapped hosts): the same Debian 12 packages distroless assembles that image from,
# unpacked with dpkg-deb (no maintainer scripts, no shell, no package manager), the same users, the same
# image config. Tags it in buildah's local store and prints the tag. Cached: a stand-in built from this
# very recipe is reused (the recipe's hash is a label), so repeated test runs do not rebuild it.
# Host architecture only. Needs root (apt-get, and files owned by 65532).
# Usage: scripts/image-base-standin.sh [--tag NAME] [--rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }

tag=localhost/ledgerd-distroless-standin:cc-debian12-nonroot
rebuild=false
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift ;;
    --rebuild) rebuild=true ;;
    -h | --help) help ;;
    *) echo "usage: scripts/image-base-standin.sh [--tag NAME] [--rebuild]" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=scripts/buildah-env.sh
source scripts/buildah-env.sh

# distroless's cc-debian12 = static (base-files, netbase, tzdata, CA certificates, passwd/group) + base
# (libc6, libssl3) + cc (libgcc-s1, libgomp1, libstdc++6). ledgerd needs libc6; its optional
# better-sqlite3 driver also needs libstdc++6 and libgcc-s1.
packages=(base-files netbase tzdata ca-certificates libc6 libssl3 libgcc-s1 libgomp1 libstdc++6)
recipe="$(sha256sum "$0" scripts/buildah-env.sh | sha256sum | cut -c1-16)"

if [ "$rebuild" = false ] &&
  [ "$(bah inspect --type image --format '{{index .ImageAnnotations "dev.ledgerd.standin.recipe"}}' "$tag" 2>/dev/null)" = "$recipe" ]; then
  echo "==> base stand-in $tag is up to date (recipe $recipe)" >&2
  echo "$tag"
  exit 0
fi

work="$(mktemp -d /var/tmp/ledgerd-standin.XXXXXX)"
container=
cleanup() {
  if [ -n "$container" ]; then bah rm "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> downloading ${packages[*]} (apt-get download)" >&2
mkdir -p "$work/debs" "$work/rootfs"
if ! (cd "$work/debs" && apt-get download -qq "${packages[@]}") >&2 2>/dev/null; then
  apt-get update -qq >&2
  (cd "$work/debs" && apt-get download -qq "${packages[@]}") >&2
fi
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/rootfs"; done
# shellcheck disable=SC2016 # dpkg-deb's format, not the shell's
versions="$(for deb in "$work"/debs/*.deb; do dpkg-deb -W --showformat='${Package}=${Version} ' "$deb"; done)"

root="$work/rootfs"
# What dpkg's maintainer scripts and distroless's own rules would have added.
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/lintian" "$root/usr/share/info"
mkdir -p "$root/etc/ssl/certs" "$root/tmp" "$root/home/nonroot" "$root/root"
find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat >"$root/etc/ssl/certs/ca-certificates.crt"
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chmod 700 "$root/root" "$root/home/nonroot"
chown 65532:65532 "$root/home/nonroot"

echo "==> committing $tag" >&2
container="$(bah from scratch)"
# buildah copy would make every file root's; tar through the mounted rootfs keeps /home/nonroot 65532's.
mountpoint="$(bah mount "$container")"
tar -C "$root" -cf - . | tar -C "$mountpoint" -xpf - --same-owner --numeric-owner
bah umount "$container" >/dev/null
bah config \
  --user 65532 \
  --workingdir /home/nonroot \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --annotation "dev.ledgerd.standin.recipe=$recipe" \
  --label "dev.ledgerd.standin.for=gcr.io/distroless/cc-debian12:nonroot" \
  --label "dev.ledgerd.standin.packages=$versions" \
  "$container"
previous="$(bah inspect --type image --format '{{.FromImageID}}' "$tag" 2>/dev/null || true)"
bah commit --quiet --rm "$container" "$tag" >/dev/null
container=
# An older stand-in would linger untagged in the store (vfs: a full copy); drop it unless still in use.
if [ -n "$previous" ]; then bah rmi "$previous" >/dev/null 2>&1 || true; fi
echo "$tag"
