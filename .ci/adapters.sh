#!/usr/bin/env bash
# The adapters' suites and linters: bats (with bats-mock), the Groovy tests, actionlint,
# action-validator, check-jsonschema, zizmor, shellcheck and npm-groovy-lint; the shared
# installer and the release scripts.
# Needs the tools .ci/run installs (.ci/venv, .ci/tools/node_modules) and a built
# target/debug/wharf and target/debug/wharf-action. The installer's tests and the adapters'
# suites install from a fixture release: WHARF_TEST_RELEASE names the directory scripts/dist
# filled (.ci/run packs the release build there); without it, one is packed here from the debug
# build. Appends "ok"/"not ok" TAP lines to the file named by $1 (default: stdout only), so
# .ci/run can count them.
set -euo pipefail
cd "$(dirname "$0")/.."

tap_log=${1:-/dev/null}
venv=.ci/venv/bin
npm_bin=.ci/tools/node_modules/.bin
bats=.ci/tools/node_modules/bats/bin/bats
export WHARF_BIN=$PWD/target/debug/wharf
export JAVA_HOME=${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}
failed=0

step() { printf '\n--> %s\n' "$*"; }

# Runs one check (a linter, or a tool run that is not a test); a failure is counted, and the
# next check still runs. Its TAP line says `[check]`, so the closing line reports it apart.
check() {
  local name=$1
  shift
  if "$@"; then
    echo "ok - [check] $name" | tee -a "$tap_log"
  else
    echo "not ok - [check] $name" | tee -a "$tap_log"
    failed=$((failed + 1))
  fi
}

# A suite that exited non-zero without reporting a failed test did not run to its end (a
# compile error, a collection error, a crash): one failure line says so, so the closing line
# can never read "0 failed" over it.
unfinished() {
  local name=$1 status=$2 out=$3
  if ((status != 0)) && ! grep -qE '^not ok ' "$out"; then
    echo "not ok - [suite] $name did not run to its end (exit $status)" | tee -a "$tap_log"
  fi
}

# Runs a bats suite; its TAP lines go to the log, so each test counts once.
bats_suite() {
  local out status=0
  out=$(mktemp)
  "$bats" --tap "$@" | tee "$out" || status=$?
  ((status == 0)) || failed=$((failed + 1))
  grep -E '^(ok|not ok) ' "$out" >>"$tap_log" || true
  unfinished "bats $*" "$status" "$out"
  rm -f "$out"
}

if [[ -z ${WHARF_TEST_RELEASE:-} ]]; then
  step "fixture release: scripts/dist --prebuilt target/debug"
  WHARF_TEST_RELEASE=$PWD/target/fixture-release
  rm -rf "$WHARF_TEST_RELEASE"
  scripts/dist --prebuilt target/debug --out "$WHARF_TEST_RELEASE"
fi
export WHARF_TEST_RELEASE

step "Installer and release"
bats_suite install/tests scripts/tests
check "actionlint: release workflow" "$venv/actionlint" .github/workflows/release.yml
check "check-jsonschema: release workflow" "$venv/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/release.yml
# action-validator 0.6.0's schema predates the `attestations` permission, so it is not run on
# the release workflow.
check "zizmor: release workflow" "$venv/zizmor" --offline --config .ci/zizmor.yml .github/workflows/release.yml

step "GitHub Action"
bats_suite action/tests
check "actionlint: example workflow" "$venv/actionlint" examples/github-actions/*.yml
check "action-validator: action.yml" "$npm_bin/action-validator" action/action.yml
check "action-validator: example workflow" "$npm_bin/action-validator" examples/github-actions/build-and-register.yml
check "check-jsonschema: action.yml" "$venv/check-jsonschema" --builtin-schema vendor.github-actions action/action.yml
check "check-jsonschema: example workflow" "$venv/check-jsonschema" --builtin-schema vendor.github-workflows examples/github-actions/*.yml
check "zizmor: action and workflow" "$venv/zizmor" --offline --config .ci/zizmor.yml action/action.yml examples/github-actions/build-and-register.yml

step "Buildkite plugin"
bats_suite buildkite-plugin/tests
check "check-jsonschema: README examples against plugin.yml" buildkite-plugin/tests/check-examples.sh

step "CircleCI orb"
unittest_suite() {
  local out status=0
  out=$(mktemp)
  "$venv/python" -m unittest discover -v "$@" 2>&1 | tee "$out" || status=$?
  ((status == 0)) || failed=$((failed + 1))
  sed -nE 's/^(test_[a-z0-9_]+) .* \.\.\. ok$/ok - \1/p; s/^(test_[a-z0-9_]+) .* \.\.\. skipped.*$/ok - \1 # skip/p; s/^(test_[a-z0-9_]+) .* \.\.\. (FAIL|ERROR)$/not ok - \1/p' \
    "$out" >>"$tap_log"
  sed -nE 's/^(test_[a-z0-9_]+) .* \.\.\. (FAIL|ERROR)$/not ok - \1/p' "$out" >"$out.tap"
  unfinished "unittest $*" "$status" "$out.tap"
  rm -f "$out" "$out.tap"
}
unittest_suite -s circleci-orb/tests -p 'test_*.py'
bats_suite circleci-orb/tests
packed_orb=$(mktemp --suffix=.yml)
check "pack the orb" "$venv/python" circleci-orb/scripts/pack.py circleci-orb/src -o "$packed_orb"
check "check-jsonschema: packed orb (vendor.circle-ci)" "$venv/check-jsonschema" --builtin-schema vendor.circle-ci "$packed_orb"
rm -f "$packed_orb"

step "CodeBuild"
bats_suite examples/codebuild/test

step "Jenkins step"
groovy_suite() {
  local out status=0
  out=$(mktemp)
  jenkins-shim/test/run.sh 2>&1 | tee "$out" || status=$?
  ((status == 0)) || failed=$((failed + 1))
  grep -E '^(ok|not ok) ' "$out" >>"$tap_log" || true
  unfinished "groovy jenkins-shim" "$status" "$out"
  rm -f "$out"
}
groovy_suite
check "npm-groovy-lint: jenkins-shim" "$npm_bin/npm-groovy-lint" --noserver --failon info --path jenkins-shim

step "Facets' own SDK (facets-control-plane-sdk) against wharf serve"
pytest_suite() {
  local out status=0
  out=$(mktemp)
  "$venv/python" -m pytest -v -p no:cacheprovider "$@" 2>&1 | tee "$out" || status=$?
  ((status == 0)) || failed=$((failed + 1))
  sed -nE 's/^[^ ]*::(test_[a-z0-9_]+) PASSED.*/ok - \1/p; s/^[^ ]*::(test_[a-z0-9_]+) SKIPPED.*/ok - \1 # skip/p; s/^[^ ]*::(test_[a-z0-9_]+) (FAILED|ERROR).*/not ok - \1/p' \
    "$out" >>"$tap_log"
  sed -nE 's/^[^ ]*::(test_[a-z0-9_]+) (FAILED|ERROR).*/not ok - \1/p' "$out" >"$out.tap"
  unfinished "pytest $*" "$status" "$out.tap"
  rm -f "$out" "$out.tap"
}
pytest_suite tests/facets_sdk

step "shellcheck: every script"
mapfile -t scripts < <(git ls-files '*.sh' '*.bash' 'buildkite-plugin/hooks/*' 'scripts/*' ':!*.bats' | sort)
check "shellcheck: ${#scripts[@]} scripts" "$venv/shellcheck" -x "${scripts[@]}"
mapfile -t bats_files < <(git ls-files '*.bats')
check "shellcheck: ${#bats_files[@]} bats files" "$venv/shellcheck" -s bash -x "${bats_files[@]}"

echo
echo "adapters: $failed failed check(s) or suite(s)"
exit $((failed > 0))
