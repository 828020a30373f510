# shellcheck shell=bash disable=SC2034 # BATS_MOCK_* are for bats-mock
# Shared setup for the plugin's tests: bats-support, bats-assert and bats-mock, a Buildkite-like
# environment, and stubs whose plans live in the test's own temporary directory.

PLUGIN_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
REPO_ROOT=$(cd "$PLUGIN_DIR/.." && pwd)
WHARF_CI_TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}

load "$WHARF_CI_TOOLS/bats-support/load.bash"
load "$WHARF_CI_TOOLS/bats-assert/load.bash"
load "$WHARF_CI_TOOLS/bats-mock/stub.bash"
load "$REPO_ROOT/tests/adapters/contract.bash"

TEST_TOKEN="wharf-test-token-do-not-print-7f3a9c"

plugin_setup() {
  # bats-mock keeps its plans in BATS_TMPDIR, shared by every test run on the machine.
  BATS_MOCK_TMPDIR=$BATS_TEST_TMPDIR
  BATS_MOCK_BINDIR=$BATS_TEST_TMPDIR/bin
  PATH="$BATS_MOCK_BINDIR:$PATH"
  clear_wharf_environment
  export BUILDKITE=true CI=true BUILDKITE_BRANCH=main BUILDKITE_BUILD_ID=0190b5a8-1b2c-4d5e-8f90-123456789abc
  export WHARF_TOKEN=$TEST_TOKEN
  configure '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2"}'
}

clear_wharf_environment() {
  local name
  for name in $(compgen -e); do
    if [[ $name == WHARF_* && ! $name =~ ^WHARF_(CI_TOOLS|BIN|REPO_ROOT|TEST_.*)$ ]]; then
      unset "$name"
    fi
  done
}

# configure JSON: the step's configuration. Unless it says which wharf to run (wharf-path or
# version), the unit tests run the stubbed wharf, so wharf-path names it.
configure() {
  BUILDKITE_PLUGIN_CONFIGURATION=$(jq -c --arg stub "$BATS_MOCK_BINDIR/wharf" \
    'if type == "object" and (has("wharf-path") or has("version") | not)
     then . + {"wharf-path": $stub} else . end' <<<"$1" 2>/dev/null) ||
    BUILDKITE_PLUGIN_CONFIGURATION=$1
  export BUILDKITE_PLUGIN_CONFIGURATION
}

# Loads the libraries for unit tests of single functions.
load_plugin_libs() {
  local lib
  for lib in config token wharf annotate metadata plugin; do
    # shellcheck source=/dev/null
    source "$PLUGIN_DIR/lib/$lib.bash"
  done
}

# stub_wharf EXIT_CODE [OUTCOME_FILE]: one wharf call that records its argv (one per line) to
# $BATS_TEST_TMPDIR/wharf.argv and its token and username to wharf.token and wharf.username (and WHARF_OIDC_AUDIENCE to wharf.audience),
# prints OUTCOME_FILE and exits EXIT_CODE.
stub_wharf() {
  local status=$1 outcome=${2:-/dev/null} dir=$BATS_TEST_TMPDIR
  stub wharf ": printf '%s\n' \"\$@\" >'$dir/wharf.argv'; printf '%s' \"\${WHARF_TOKEN-}\" >'$dir/wharf.token'; printf '%s' \"\${WHARF_USERNAME-}\" >'$dir/wharf.username'; printf '%s' \"\${WHARF_OIDC_AUDIENCE-}\" >'$dir/wharf.audience'; cat '$outcome'; exit $status"
}

# stub_wharf_answering CASE [MESSAGE]: one wharf call answering tests/contract/CASE.json (see
# contract_answer), with the exit code it carries.
stub_wharf_answering() {
  local answer
  answer=$(contract_answer "$@") || return 1
  stub_wharf "$(contract_exit_code "$answer")" "$answer"
}

# The stubbed annotate call writes the annotation's Markdown here.
annotation_file() {
  echo "$BATS_TEST_TMPDIR/annotation.md"
}

expect_annotation() {
  echo "annotate --style $1 --context $2 : cat >'$(annotation_file)'"
}

expect_metadata() {
  echo "meta-data set $1 $2 : true"
}

wharf_argv() {
  cat "$BATS_TEST_TMPDIR/wharf.argv"
}
