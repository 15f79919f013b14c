#!/usr/bin/env bash
# After a rollout: is ledgerd up, and does one authenticated round trip work? Checks the admin port's
# /readyz (when an admin URL is known), then signs up a throwaway user smoke-<random>@smoke.invalid with a
# random password (kept in a temp file, never printed or passed as an argument), logs in, reads
# GET /v1/users/me, deletes the user (DELETE /v1/users/<id>) and checks that its token is then refused.
# Exits 0 on success, 1 with the failing step named. Needs sign-up open (--signup closed fails at signup).
#   --url URL        the public API (e.g. https://api.example.com); --admin-url adds the /readyz check
#   --namespace NS   port-forwards svc/ledgerd's 8080 and one ledgerd pod's admin port 8081 (kubectl,
#                    local ports chosen by kubectl) and checks through them
# Usage: scripts/smoke-test.sh --url URL [--admin-url URL] | --namespace NS
set -euo pipefail

usage() {
  echo "usage: scripts/smoke-test.sh --url URL [--admin-url URL] | --namespace NS" >&2
  exit 2
}
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
say() { echo "smoke: $*" >&2; }

api_url="" admin_url="" namespace=""
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) help ;;
    --url) [ $# -ge 2 ] || usage; api_url=${2%/}; shift ;;
    --admin-url) [ $# -ge 2 ] || usage; admin_url=${2%/}; shift ;;
    --namespace) [ $# -ge 2 ] || usage; namespace=$2; shift ;;
    *) usage ;;
  esac
  shift
done
if [ -n "$namespace" ]; then
  [ -z "$api_url$admin_url" ] || usage
elif [ -z "$api_url" ]; then
  usage
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ledgerd-smoke.XXXXXX")
chmod 700 "$work"
forwards=()
user_id="" email="" deleted=false step=setup
cleanup() {
  # A user left behind by a failure after login is deleted here, best effort.
  if [ -n "$user_id" ] && [ "$deleted" = false ] && [ -s "$work/auth-header" ]; then
    curl -sS -o /dev/null --max-time 10 -X DELETE -H @"$work/auth-header" "$api_url/v1/users/$user_id" || true
  fi
  if [ "${#forwards[@]}" -gt 0 ]; then kill "${forwards[@]}" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  say "FAILED at $step: $*"
  if [ -n "$user_id" ] && [ ! -s "$work/auth-header" ]; then
    say "the throwaway user $email ($user_id) remains: it could not log in to delete itself"
  fi
  exit 1
}

# port_forward TARGET REMOTE_PORT: starts `kubectl port-forward` on a local port kubectl picks and sets
# $forwarded_port from kubectl's "Forwarding from 127.0.0.1:PORT -> REMOTE" line. Not in a $(...)
# subshell: the cleanup must see the forward's pid.
port_forward() {
  local log="$work/port-forward-${1//\//-}.log"
  forwarded_port=""
  kubectl -n "$namespace" port-forward --address 127.0.0.1 "$1" ":$2" >"$log" 2>&1 &
  forwards+=("$!")
  for _ in $(seq 100); do
    forwarded_port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log" | head -1)
    [ -z "$forwarded_port" ] || return 0
    kill -0 "${forwards[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  cat "$log" >&2
  return 1
}

if [ -n "$namespace" ]; then
  step="port-forward"
  say "port-forwarding svc/ledgerd 8080 in $namespace"
  port_forward svc/ledgerd 8080 || fail "kubectl port-forward svc/ledgerd"
  api_url="http://127.0.0.1:$forwarded_port"
  pod=$(kubectl -n "$namespace" get pods -l app.kubernetes.io/name=ledgerd --field-selector=status.phase=Running \
    -o jsonpath='{.items[0].metadata.name}') || fail "no running ledgerd pod in $namespace"
  [ -n "$pod" ] || fail "no running ledgerd pod in $namespace"
  say "port-forwarding pod/$pod 8081 (admin)"
  port_forward "pod/$pod" 8081 || fail "kubectl port-forward pod/$pod"
  admin_url="http://127.0.0.1:$forwarded_port"
fi

# call METHOD URL [BODY_FILE] [HEADER_FILE]: the response body goes to $work/body, the status to $status.
# Bodies and the authorization header are read from files by curl (@file), so neither the password nor
# the token is ever on a command line.
call() {
  local args=(-sS -o "$work/body" -w '%{http_code}' --max-time 10 -X "$1")
  [ -z "${3:-}" ] || args+=(-H 'content-type: application/json' --data-binary "@$3")
  [ -z "${4:-}" ] || args+=(-H "@$4")
  status=$(curl "${args[@]}" "$2" 2>"$work/curl-error") || status=000
  say "$1 ${2#"$api_url"} -> $status"
  if [ "$status" = 000 ]; then fail "$(cat "$work/curl-error")"; fi
}
expect() { [ "$status" = "$1" ] || fail "expected $1, got $status: $(head -c 300 "$work/body")"; }

if [ -n "$admin_url" ]; then
  step=readyz
  call GET "$admin_url/readyz"
  expect 200
fi

step=signup
email="smoke-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')@smoke.invalid"
(
  umask 077
  password=$(head -c 24 /dev/urandom | base64 | tr -d '\n' | tr '+/' '-_')
  printf '{"email":"%s","name":"Smoke test","password":"%s"}' "$email" "$password" >"$work/signup.json"
  printf '{"email":"%s","password":"%s"}' "$email" "$password" >"$work/login.json"
)
say "signing up $email"
call POST "$api_url/v1/users" "$work/signup.json"
expect 201
user_id=$(sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p' "$work/body")
[ -n "$user_id" ] || fail "no id in the response"

step=login
call POST "$api_url/v1/auth/token" "$work/login.json"
expect 200
(
  umask 077
  token=$(sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' "$work/body")
  [ -z "$token" ] || printf 'authorization: Bearer %s\n' "$token" >"$work/auth-header"
)
rm -f "$work/body"
[ -s "$work/auth-header" ] || fail "no access_token in the response"

step=me
call GET "$api_url/v1/users/me" "" "$work/auth-header"
expect 200
grep -q "\"id\":\"$user_id\"" "$work/body" || fail "GET /v1/users/me answered another user"

step=delete
call DELETE "$api_url/v1/users/$user_id" "" "$work/auth-header"
expect 204
deleted=true

step=deleted
call GET "$api_url/v1/users/me" "" "$work/auth-header"
expect 401

say "ok: ${admin_url:+readyz, }sign-up, login, /v1/users/me and delete against $api_url"
