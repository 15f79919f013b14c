#!/usr/bin/env bash
# Deploys only the monitoring part of one environment: renders kustomize/overlays/ENV, keeps the
# objects named ledgerd-prometheus* (Prometheus, its RBAC, config, rules ConfigMap, data volume,
# network policy), ledgerd-grafana* (Grafana, its provisioning, network policy) and ledgerd-dashboard-*
# (the dashboard ConfigMaps), applies those server-side (field manager ledgerd-deploy-monitoring), makes
# sure Grafana's admin Secret exists, and waits for both rollouts. ledgerd's own objects (its Deployment,
# Service, policies) are never applied here: that is scripts/deploy.sh, which must have made the
# namespace first. --dry-run prints the selected manifests and applies nothing. An environment without
# the monitoring component (dev) exits 2.
# Usage: scripts/deploy-monitoring.sh dev|staging|prod [--dry-run]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/grafana-admin-secret.sh
source scripts/lib/grafana-admin-secret.sh

usage() {
  echo "usage: scripts/deploy-monitoring.sh dev|staging|prod [--dry-run]" >&2
  exit 2
}
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
say() { echo "deploy-monitoring: $*" >&2; }

env=""
dry_run=false
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) help ;;
    --dry-run) dry_run=true ;;
    -*) usage ;;
    *) [ -z "$env" ] || usage; env=$1 ;;
  esac
  shift
done
[ -n "$env" ] || usage
[ -f "kustomize/overlays/$env/kustomization.yaml" ] || { say "no overlay kustomize/overlays/$env"; exit 2; }
namespace="ledgerd-$env"
work=$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-deploy-monitoring.XXXXXX")
trap 'rm -rf "$work"' EXIT

say "rendering kustomize/overlays/$env"
kubectl kustomize "kustomize/overlays/$env" >"$work/all.yaml"

# kubectl kustomize writes one document per object, separated by "---", with metadata.name at two
# spaces under a top-level "metadata:". Keep the documents whose name is a monitoring one.
awk '
  function flush() { if (keep) printf "%s", (kept++ ? "---\n" : "") doc; doc = ""; keep = 0; in_metadata = 0 }
  /^---$/ { flush(); next }
  { doc = doc $0 "\n" }
  /^metadata:/ { in_metadata = 1; next }
  /^[^ ]/ { in_metadata = 0 }
  in_metadata && /^  name: (ledgerd-prometheus|ledgerd-grafana|ledgerd-dashboard-)/ { keep = 1 }
  END { flush() }
' "$work/all.yaml" >"$work/monitoring.yaml"

if ! grep -q '^  name: ledgerd-prometheus$' "$work/monitoring.yaml" ||
  ! grep -q '^  name: ledgerd-grafana$' "$work/monitoring.yaml"; then
  say "kustomize/overlays/$env has no monitoring component (no ledgerd-prometheus and ledgerd-grafana): nothing to deploy"
  exit 2
fi
say "monitoring objects: $(awk '/^kind:/ { kind = $2 } /^metadata:/ { m = 1; next } /^[^ ]/ { m = 0 }
  m && /^  name:/ { printf "%s%s/%s", (n++ ? ", " : ""), kind, $2 }' "$work/monitoring.yaml")"

if [ "$dry_run" = true ]; then
  cat "$work/monitoring.yaml"
  say "dry run: nothing applied"
  exit 0
fi

say "applying to $(kubectl config current-context) (server-side)"
# scripts/deploy.sh applies these objects too (field manager ledgerd-deploy), so a changed dashboard or
# rule would be a conflict with its ownership: this script, rendering the same repository, takes it.
kubectl apply --server-side --field-manager=ledgerd-deploy-monitoring --force-conflicts -f "$work/monitoring.yaml"
ensure_grafana_admin_secret "$namespace" "$work"

for deployment in ledgerd-prometheus ledgerd-grafana; do
  say "waiting for the rollout of deployment/$deployment in $namespace"
  kubectl -n "$namespace" rollout status "deployment/$deployment" --timeout=5m || {
    say "rollout of $deployment failed; what the cluster says:"
    kubectl -n "$namespace" describe deployment "$deployment" || true
    kubectl -n "$namespace" get events --sort-by=.lastTimestamp | tail -n 20 || true
    kubectl -n "$namespace" logs "deployment/$deployment" --all-containers --tail=50 || true
    exit 1
  }
done
say "done"
