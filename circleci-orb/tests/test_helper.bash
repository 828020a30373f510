# shellcheck shell=bash
# Shared setup for the orb's bats tests.

ORB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$ORB_DIR/.." && pwd)
WHARF_CI_TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}
WHARF_CI_PYTHON=${WHARF_CI_PYTHON:-$REPO_ROOT/.ci/venv/bin/python}
export ORB_DIR REPO_ROOT WHARF_CI_TOOLS WHARF_CI_PYTHON

load "$WHARF_CI_TOOLS/bats-support/load.bash"
load "$WHARF_CI_TOOLS/bats-assert/load.bash"
load "$WHARF_CI_TOOLS/bats-mock/stub.bash"
load "$REPO_ROOT/tests/adapters/contract.bash"

# Each test gets its own stub directory, so stubs never leak between tests or runs.
use_private_stubs() {
  BATS_MOCK_TMPDIR=$BATS_TEST_TMPDIR
  BATS_MOCK_BINDIR=$BATS_MOCK_TMPDIR/bin
  PATH="$BATS_MOCK_BINDIR:$PATH"
}

# A clean CircleCI-like step environment: only what the test sets is there.
circleci_env() {
  export CIRCLECI=true CI=true
  export BASH_ENV=$BATS_TEST_TMPDIR/bash_env
  : >"$BASH_ENV"
}

# pack_orb_pinning_fixture ORB_YML: packs the orb as its release would be packed, but with the
# fixture release's pins (tests/adapters/release.bash) in place of install/checksums.txt.
pack_orb_pinning_fixture() {
  local src
  src=$(mktemp -d "${BATS_FILE_TMPDIR:-${BATS_TMPDIR:-/tmp}}/orb-src.XXXXXX")
  cp -rL "$ORB_DIR/src/." "$src/"
  fixture_pins "$src/scripts/checksums.txt"
  "$WHARF_CI_PYTHON" "$ORB_DIR/scripts/pack.py" "$src" -o "$1"
}
