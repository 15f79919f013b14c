#!/usr/bin/env bash
# The whole test suite, as README.md and .ci/run call it: installs what is missing (Bun, packages,
# Chromium, shellcheck, Prometheus), then typecheck, lint (TypeScript and shell), unit, build, end-to-end
# and browser tests. Ends with one line "N passed, N failed" and exits non-zero if anything failed.
# Logs and JUnit XML per bun test stage (test-results/<stage>.junit.xml) go to test-results/.
# Usage: scripts/test.sh
# Not -e: a failing stage is counted and the next one runs; every stage's status is checked by hand.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
help() { sed -n '/^#!/d;/^# shellcheck/d;/^#/!q;s/^# \{0,1\}//p' "$0"; exit 0; }
case ${1:-} in
  -h | --help) help ;;
  "") ;;
  *) echo "usage: scripts/test.sh" >&2; exit 2 ;;
esac
mkdir -p test-results

passed=0
failed=0
skipped=0
summary=()

record() { # record STAGE PASSED FAILED [SKIPPED]
  passed=$((passed + $2)); failed=$((failed + $3)); skipped=$((skipped + ${4:-0}))
  summary+=("$(printf '%-10s %4d passed, %d failed, %d skipped' "$1" "$2" "$3" "${4:-0}")")
}

check() { # check STAGE COMMAND...: a stage that is one pass or one failure
  local stage=$1; shift
  echo; echo "==> $stage: $*"
  if "$@"; then record "$stage" 1 0; else record "$stage" 0 1; return 1; fi
}

bun_tests() { # bun_tests STAGE PATH...: counts from bun test's closing lines
  local stage=$1 log="test-results/$1.log"
  shift
  echo; echo "==> $stage: bun test $*"
  # A hang guard, not a speed check: bun's default of 5 s per test fails tests that start servers
  # (PostgreSQL, several ledgerd) on a loaded 2-core machine, and on a timeout bun kills every process
  # the test started, taking shared servers down with it.
  # JUnit XML beside the log, for CI's test reports; the console output and its closing counts stay.
  bun test --timeout 30000 --reporter=junit --reporter-outfile="test-results/$stage.junit.xml" "$@" 2>&1 |
    tee "$log"
  local status=${PIPESTATUS[0]}
  local p f s
  p=$(sed -n 's/^ *\([0-9]\+\) pass$/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^ *\([0-9]\+\) fail$/\1/p' "$log" | tail -1)
  s=$(sed -n 's/^ *\([0-9]\+\) skip$/\1/p' "$log" | tail -1)
  # A runner that crashed before its summary counts as one failure, never as zero tests.
  if [ -z "$p" ] || { [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then f=$(( ${f:-0} + 1 )); fi
  record "$stage" "${p:-0}" "${f:-0}" "${s:-0}"
}

browser_tests() {
  local report=test-results/browser.json
  echo; echo "==> browser: playwright test (Chromium at /usr/bin/chromium)"
  rm -f "$report"
  bunx --bun playwright test -c tests/browser/playwright.config.ts
  local status=$?
  if [ ! -s "$report" ]; then record browser 0 1; return; fi
  local counts
  counts=$(bun -e "const s = (await Bun.file('$report').json()).stats; \
    console.log(s.expected, s.unexpected + s.flaky, s.skipped)")
  read -r p f s <<<"$counts"
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record browser "$p" "$f" "$s"
}

apt_updated=false
ensure_debian_package() { # ensure_debian_package COMMAND PACKAGE: installs PACKAGE if COMMAND is missing
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "==> installing Debian's $2 (apt-get)"
  { { [ "$apt_updated" = true ] || apt-get update -qq; } && apt-get install -y -qq "$2"; } \
    >"test-results/apt-$2.log" 2>&1 || { echo "could not install $2; see test-results/apt-$2.log"; return 1; }
  apt_updated=true
}

lint_shell() {
  ensure_debian_package shellcheck shellcheck && shellcheck -x scripts/*.sh scripts/lib/*.sh scripts/bench/*.sh .ci/run
}

started=$(date +%s)
if ! bash scripts/install.sh; then
  record setup 0 1
else
  source scripts/ensure-bun.sh
  check typecheck bunx tsc --noEmit
  check lint bunx biome check .
  check shell lint_shell
  # promtool for the rules' unit tests, prometheus for the end-to-end proof of rules and dashboards.
  ensure_debian_package promtool prometheus || true
  bun_tests unit ./tests/unit
  if check build bash scripts/build.sh; then
    # The image test builds with buildah; the image scripts install it too, but here its apt output goes
    # to test-results/ instead of the test log.
    ensure_debian_package buildah buildah || true
    bun_tests e2e ./tests/e2e
    # The API suites again with ledgerd on PostgreSQL (tests/support/postgres.ts starts one): the same
    # requests must get the same answers from both engines.
    LEDGERD_TEST_STORAGE=postgres bun_tests e2e-postgres \
      ./tests/e2e/ledger.test.ts ./tests/e2e/users.test.ts ./tests/e2e/auth-attacks.test.ts \
      ./tests/e2e/auth-external-idp.test.ts ./tests/e2e/avatars.test.ts ./tests/e2e/metrics.test.ts \
      ./tests/e2e/hostile
    if check chromium ensure_debian_package chromium chromium; then browser_tests; fi
  fi
fi

echo
echo "==> summary ($(( $(date +%s) - started ))s)"
printf '%s\n' "${summary[@]}"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
