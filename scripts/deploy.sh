#!/usr/bin/env bash
# Deploys one environment of the Kustomize bundle to the cluster kubectl points at: renders
# kustomize/overlays/ENV (with --image, through a temporary overlay this script writes: never an edit
# of the overlay itself), applies it server-side, waits for the database and the rollout, and on
# failure prints what is wrong (describe, events, logs). --dry-run prints the manifests and applies
# nothing.
# Usage: scripts/deploy.sh dev|staging|prod [--image REF] [--dry-run]
#   REF: name:tag or name@sha256:...; prod takes a digest only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/grafana-admin-secret.sh
source scripts/lib/grafana-admin-secret.sh

usage() {
  echo "usage: scripts/deploy.sh dev|staging|prod [--image REF] [--dry-run]" >&2
  exit 2
}
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
say() { echo "deploy: $*" >&2; }

case ${1:-} in -h | --help) help ;; esac
env=${1:-}
if [ -z "$env" ] || [ "${env#-}" != "$env" ]; then usage; fi
shift
[ -f "kustomize/overlays/$env/kustomization.yaml" ] || { say "no overlay kustomize/overlays/$env"; exit 2; }
image=""
dry_run=false
while [ $# -gt 0 ]; do
  case $1 in
    --image) [ $# -ge 2 ] || usage; image=$2; shift 2 ;;
    --image=*) image=${1#--image=}; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) help ;;
    *) usage ;;
  esac
done

# The image name every overlay's `images:` entry matches (set in kustomize/base/kustomization.yaml).
image_name=ghcr.io/OWNER/ledgerd
# Every overlay deploys into ledgerd-<env> (tests/unit/kustomize/deploy-script.test.ts checks it).
namespace="ledgerd-$env"
target="kustomize/overlays/$env"
work=$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-deploy.XXXXXX")
trap 'rm -rf "$work" "${overlay:-}"' EXIT

if [ -n "$image" ]; then
  if [[ $image == *@* ]]; then
    ref_name=${image%%@*}
    pin="digest: ${image#*@}"
  elif [[ ${image##*/} == *:* ]]; then
    ref_name=${image%:*}
    pin="newTag: \"${image##*:}\""
    [ "${image##*:}" != latest ] || { say "refusing :latest; give a version tag or a digest"; exit 2; }
    [ "$env" != prod ] || { say "prod takes an image by digest (name@sha256:...), not $image"; exit 2; }
  else
    say "--image needs a tag or a digest: $image"
    exit 2
  fi
  # Kustomize refuses absolute paths to a base, so the temporary overlay sits next to the overlays.
  overlay=$(mktemp -d kustomize/.deploy-XXXXXX)
  cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../overlays/$env
images:
  - name: $image_name
    newName: $ref_name
    $pin
EOF
  target=$overlay
fi

say "rendering $target${image:+ with image $image}"
kubectl kustomize "$target" >"$work/manifests.yaml"

if [ "$dry_run" = true ]; then
  cat "$work/manifests.yaml"
  say "dry run: nothing applied"
  exit 0
fi

if grep -q 'sha256:0\{64\}' "$work/manifests.yaml"; then
  say "the manifests still hold the placeholder all-zero digest: pass --image name@sha256:..."
  exit 1
fi

explain_failure() {
  say "rollout failed; what the cluster says:"
  kubectl -n "$namespace" get deployment,replicaset,pods -l app.kubernetes.io/name=ledgerd -o wide || true
  kubectl -n "$namespace" describe deployment ledgerd || true
  kubectl -n "$namespace" describe pods -l app.kubernetes.io/name=ledgerd || true
  kubectl -n "$namespace" get events --sort-by=.lastTimestamp | tail -n 40 || true
  kubectl -n "$namespace" logs -l app.kubernetes.io/name=ledgerd --all-containers --prefix --tail=50 || true
  if grep -q '^kind: Cluster$' "$work/manifests.yaml"; then
    kubectl -n "$namespace" get cluster ledgerd-db -o wide || true
  fi
}

say "applying to $(kubectl config current-context) (server-side)"
kubectl apply --server-side --field-manager=ledgerd-deploy -f "$work/manifests.yaml"

# The monitoring component's Grafana needs its admin Secret (scripts/lib/grafana-admin-secret.sh).
if grep -q '^  name: ledgerd-grafana$' "$work/manifests.yaml"; then
  ensure_grafana_admin_secret "$namespace" "$work"
fi

if grep -q '^kind: Cluster$' "$work/manifests.yaml"; then
  say "waiting for the PostgreSQL cluster ledgerd-db"
  kubectl -n "$namespace" wait --for=condition=Ready cluster/ledgerd-db --timeout=15m || {
    explain_failure
    exit 1
  }
fi
say "waiting for the rollout of deployment/ledgerd in $namespace"
kubectl -n "$namespace" rollout status deployment/ledgerd --timeout=10m || {
  explain_failure
  exit 1
}
say "done"
