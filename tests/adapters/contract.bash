# shellcheck shell=bash
# wharf's answers for the adapters' unit suites, where a stub stands in for wharf: the JSON it
# prints, tests/contract/*.json, written from real values by a Rust test
# (tests/contract/README.md). A field wharf renames or drops therefore fails the adapters.
#
#   source tests/adapters/contract.bash
#   answer=$(contract_answer routed)                       # or unrouted, replayed, pushed, dry-run, error
#   answer=$(contract_answer error "missing project: …")   # another of wharf's refusals
#   status=$(contract_exit_code "$answer")                 # the exit code wharf gives with it
#   report=$(contract_report routed)                       # its Markdown report (CASE.md)

WHARF_CONTRACT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../contract" && pwd)

# contract_answer CASE [MESSAGE]: the path of tests/contract/CASE.json, or, with MESSAGE, of a
# copy (in BATS_TEST_TMPDIR) whose error message is MESSAGE.
contract_answer() {
  local case=$1 copy
  if [[ -z ${2:-} ]]; then
    echo "$WHARF_CONTRACT/$case.json"
    return
  fi
  copy=$BATS_TEST_TMPDIR/contract-$case.json
  jq --arg message "$2" '.error |= if has("message") then .message = $message
    else error("\(input_filename) has no .error.message") end' \
    "$WHARF_CONTRACT/$case.json" >"$copy" || return 1
  echo "$copy"
}

# contract_exit_code ANSWER: the error's exit code, or 0 for an outcome.
contract_exit_code() {
  jq -r '.error.exitCode // 0' "$1"
}

# contract_report CASE: the path of tests/contract/CASE.md, wharf's Markdown report of the case.
contract_report() {
  echo "$WHARF_CONTRACT/$1.md"
}
