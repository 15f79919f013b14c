# Sourced by scripts/deploy.sh and scripts/deploy-monitoring.sh: the one place the Grafana admin Secret
# is made. Defines functions only; never exits the shell that sources it.
# Usage: source scripts/lib/grafana-admin-secret.sh; ensure_grafana_admin_secret NAMESPACE WORKDIR
# shellcheck shell=bash
# Run instead of sourced: this header on --help, else a usage error (nothing else runs).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case ${1:-} in
    -h | --help) sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: source scripts/lib/grafana-admin-secret.sh (a library, not a command)" >&2; exit 2 ;;
  esac
fi

# ensure_grafana_admin_secret NAMESPACE WORKDIR: the monitoring component's Grafana reads its admin
# password from the Secret ledgerd-grafana-admin and has no default. Made once, from the kernel's random
# bytes through a file in WORKDIR (never an argument, never printed), and kept on later deploys.
ensure_grafana_admin_secret() {
  local namespace=$1 work=$2
  if kubectl -n "$namespace" get secret ledgerd-grafana-admin >/dev/null 2>&1; then
    return 0
  fi
  echo "grafana-admin-secret: creating Secret ledgerd-grafana-admin with a random admin password; read it with:" >&2
  echo "  kubectl -n $namespace get secret ledgerd-grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d" >&2
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '\n' >"$work/admin-password")
  local status=0
  kubectl -n "$namespace" create secret generic ledgerd-grafana-admin \
    --from-file=admin-password="$work/admin-password" >/dev/null || status=$?
  rm -f "$work/admin-password"
  return "$status"
}
