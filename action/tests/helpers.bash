# shellcheck shell=bash
# Shared setup of the action's bats tests.

ACTION_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
REPO_ROOT=$(cd "$ACTION_DIR/.." && pwd)
WHARF_CI_TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}
PYTHON=${WHARF_CI_PYTHON:-$REPO_ROOT/.ci/venv/bin/python}
export ACTION_DIR REPO_ROOT PYTHON

load "$WHARF_CI_TOOLS/bats-support/load.bash"
load "$WHARF_CI_TOOLS/bats-assert/load.bash"
load "$WHARF_CI_TOOLS/bats-mock/stub.bash"

# A clean runner: temp dir, output file, no stray inputs.
runner_env() {
  export RUNNER_TEMP="$BATS_TEST_TMPDIR/runner"
  export GITHUB_OUTPUT="$BATS_TEST_TMPDIR/output"
  mkdir -p "$RUNNER_TEMP"
  : >"$GITHUB_OUTPUT"
  export WHARF_ACTION_PATH="$ACTION_DIR"
}
