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

# configure JSON: the step's configuration, set as the agent sets it (each option in
# BUILDKITE_PLUGIN_WHARF_<OPTION>, booleans as true/false). Unless it says which wharf to run
# (wharf-path or version), the unit tests run the stubbed wharf, so wharf-path names it.
configure() {
  local config name value
  clear_plugin_configuration
  config=$(jq -c --arg stub "$BATS_MOCK_BINDIR/wharf" \
    'if (has("wharf-path") or has("version") | not) then . + {"wharf-path": $stub} else . end' <<<"$1")
  while IFS=$'\t' read -r name value; do
    export "$name=$value"
  done < <(jq -r 'to_entries[] | ["BUILDKITE_PLUGIN_WHARF_" + (.key | ascii_upcase | gsub("-"; "_")),
      (.value | tostring)] | @tsv' <<<"$config")
}

# Unsets every option a configuration set before.
clear_plugin_configuration() {
  local name
  for name in $(compgen -v BUILDKITE_PLUGIN_WHARF_); do unset "$name"; done
}

# Loads the libraries for unit tests of single functions.
load_plugin_libs() {
  local lib
  for lib in config token wharf annotate metadata plugin; do
    # shellcheck source=/dev/null
    source "$PLUGIN_DIR/lib/$lib.bash"
  done
}

# stub_wharf EXIT_CODE [OUTCOME_FILE [REPORT]]: one wharf call that records its argv (one per
# line) to $BATS_TEST_TMPDIR/wharf.argv, its token, username, WHARF_OIDC_AUDIENCE, WHARF_KEYLESS
# and WHARF_OPTION_NAMES to wharf.token, wharf.username, wharf.audience, wharf.keyless and
# wharf.names, writes REPORT (default "wharf's report"; "" for none) to the --summary-file it
# was given,
# prints OUTCOME_FILE and exits EXIT_CODE.
stub_wharf() {
  local status=$1 outcome=${2:-/dev/null} report=${3-wharf\'s report} dir=$BATS_TEST_TMPDIR
  printf '%s' "${report:+$report$'\n'}" >"$dir/wharf.report"
  stub wharf ": printf '%s\\n' \"\$@\" >'$dir/wharf.argv'; printf '%s' \"\${WHARF_TOKEN-}\" >'$dir/wharf.token'; printf '%s' \"\${WHARF_USERNAME-}\" >'$dir/wharf.username'; printf '%s' \"\${WHARF_OIDC_AUDIENCE-}\" >'$dir/wharf.audience'; printf '%s' \"\${WHARF_KEYLESS-}\" >'$dir/wharf.keyless'; printf '%s' \"\${WHARF_OPTION_NAMES-}\" >'$dir/wharf.names'; for a; do case \$a in --summary-file=*) cat '$dir/wharf.report' >\"\${a#--summary-file=}\";; esac; done; cat '$outcome'; exit $status"
}

# stub_wharf_answering CASE [MESSAGE]: one wharf call answering tests/contract/CASE.json (see
# contract_answer), with the exit code it carries, and writing CASE.md as its report.
stub_wharf_answering() {
  local answer
  answer=$(contract_answer "$@") || return 1
  stub_wharf "$(contract_exit_code "$answer")" "$answer" "$(cat "$(contract_report "$1")")"
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
