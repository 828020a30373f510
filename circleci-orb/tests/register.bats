#!/usr/bin/env bats
# src/scripts/register.sh with a stubbed wharf: the command line it builds, the token's path
# (environment only), the outcome file, the BASH_ENV exports, and bad parameters.
# Parameters hold literal ${VARS} for the script to expand; each test changes its own copy of them.
# shellcheck disable=SC2016,SC2030,SC2031

load test_helper

SCRIPT="$ORB_DIR/src/scripts/register.sh"
TOKEN=wharf-token-7f3a9c-do-not-print

setup() {
  use_private_stubs
  circleci_env
  export CIRCLE_SHA1=abc123 CIRCLE_BRANCH=main CIRCLE_WORKFLOW_ID=wf-1
  export WHARF_TOKEN=$TOKEN
  # The parameters as CircleCI renders the command's defaults plus project, service, image.
  export PARAM_CONTROL_PLANE_URL="" PARAM_USERNAME=ci-bot PARAM_TOKEN_ENV=WHARF_TOKEN
  export PARAM_PROJECT=shop PARAM_SERVICE=api PARAM_CI_NAME=""
  export PARAM_IMAGE='ghcr.io/acme/shop-api:${CIRCLE_SHA1}'
  export PARAM_GIT_REF="" PARAM_ENVIRONMENT="" PARAM_RELEASE_STREAM=""
  export PARAM_PUSH=false PARAM_REGISTRY="" PARAM_EXTERNAL_ID="" PARAM_DESCRIPTION=""
  export PARAM_REQUIRE_ROUTE=false PARAM_DRY_RUN=false
  export PARAM_OUTCOME_FILE=$BATS_TEST_TMPDIR/wharf/outcome.json
}

# stub_wharf_answering CASE [MESSAGE]: wharf answers tests/contract/CASE.json (see
# contract_answer) with the exit code it carries. It records its argv (one argument a line) and
# the credentials it found in its environment.
stub_wharf_answering() {
  local answer status
  answer=$(contract_answer "$@") || return 1
  status=$(contract_exit_code "$answer")
  stub wharf "* : printf '%s\n' \"\$@\" >'$BATS_TEST_TMPDIR/wharf.argv'; printf 'WHARF_TOKEN=%s\nWHARF_USERNAME=%s\n' \"\${WHARF_TOKEN-(unset)}\" \"\${WHARF_USERNAME:-}\" >'$BATS_TEST_TMPDIR/wharf.env'; printf '%s' \"\${WHARF_OPTION_NAMES-}\" >'$BATS_TEST_TMPDIR/wharf.names'; cp '$(contract_report "$1")' \"\${@: -1}\"; cat '$answer'; exit $status"
}

# use_real_wharf: the step runs the real wharf (WHARF_BIN) against a control plane it never
# reaches: what is tested ends before anything is sent.
use_real_wharf() {
  mkdir -p "$BATS_TEST_TMPDIR/real"
  ln -sf "$WHARF_BIN" "$BATS_TEST_TMPDIR/real/wharf"
  PATH=$BATS_TEST_TMPDIR/real:$PATH
  export PARAM_CONTROL_PLANE_URL=https://cp.example.com
}

# assert_argv ARG…: wharf's argv was ARG… and then the report file beside the outcome file.
assert_argv() {
  local expected
  expected=$(printf '%s\n' "$@" --summary-file "$PARAM_OUTCOME_FILE.md")
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.argv")" "$expected"
}

assert_no_token_anywhere() {
  refute_output --partial "$TOKEN"
  run grep -rF "$TOKEN" "$BATS_TEST_TMPDIR/wharf.argv" "$BASH_ENV" "$PARAM_OUTCOME_FILE"
  assert_failure 1
}

@test "registers the image with the rendered parameters and exports the outcome" {
  stub_wharf_answering routed

  run "$BASH" "$SCRIPT"

  assert_success
  assert_argv --output json register --project shop --service api --image ghcr.io/acme/shop-api:abc123
  assert_output --partial "$(cat "$(contract_report routed)")"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.env")" "$(printf 'WHARF_TOKEN=%s\nWHARF_USERNAME=ci-bot' "$TOKEN")"
  run jq -r .routedTo "$PARAM_OUTCOME_FILE"
  assert_output dev
  # shellcheck disable=SC1090
  source "$BASH_ENV"
  assert_equal "$WHARF_ARTIFACT_ID" 01a20a66090c7690bc860088cf32f9c8
  assert_equal "$WHARF_ROUTED_TO" dev
  assert_equal "$WHARF_DIGEST" ""
  assert_equal "$WHARF_OUTCOME_FILE" "$PARAM_OUTCOME_FILE"
  unstub wharf
}

@test "the token reaches wharf through its environment only" {
  stub_wharf_answering routed

  run "$BASH" "$SCRIPT"

  assert_success
  assert_no_token_anywhere
  unstub wharf
}

@test "maps every option to its flag, expanding variables in string parameters" {
  export PARAM_CONTROL_PLANE_URL=https://wharf.example.com PARAM_CI_NAME=api-ci
  export PARAM_GIT_REF='release/${CIRCLE_BUILD_NUM}' CIRCLE_BUILD_NUM=57
  export PARAM_REGISTRY=ghcr PARAM_EXTERNAL_ID='run-$CIRCLE_BUILD_NUM'
  export PARAM_DESCRIPTION='build of $CIRCLE_SHA1, cost $5'
  export PARAM_REQUIRE_ROUTE=true PARAM_DRY_RUN=true
  stub_wharf_answering dry-run

  run "$BASH" "$SCRIPT"

  assert_success
  assert_argv --output json --control-plane https://wharf.example.com register \
    --project shop --service api --ci-name api-ci --image ghcr.io/acme/shop-api:abc123 \
    --git-ref release/57 --registry ghcr --external-id run-57 \
    --description 'build of abc123, cost $5' --require-route --dry-run
  assert_output --partial "$(cat "$(contract_report dry-run)")"
  unstub wharf
}

@test "environment and release-stream parameters become their flags" {
  export PARAM_ENVIRONMENT=staging
  stub_wharf_answering routed
  run "$BASH" "$SCRIPT"
  assert_success
  assert_argv --output json register --project shop --service api --image ghcr.io/acme/shop-api:abc123 --environment staging
  unstub wharf

  export PARAM_ENVIRONMENT="" PARAM_RELEASE_STREAM=QA
  stub_wharf_answering routed
  run "$BASH" "$SCRIPT"
  assert_success
  assert_argv --output json register --project shop --service api --image ghcr.io/acme/shop-api:abc123 --release-stream QA
  unstub wharf
}

@test "push runs wharf push and exports the digest" {
  export PARAM_PUSH=true
  stub_wharf_answering pushed

  run "$BASH" "$SCRIPT"

  assert_success
  assert_argv --output json push --project shop --service api --image ghcr.io/acme/shop-api:abc123
  assert_output --partial "$(cat "$(contract_report pushed)")"
  # shellcheck disable=SC1090
  source "$BASH_ENV"
  assert_equal "$WHARF_DIGEST" sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4
  assert_equal "$WHARF_ROUTED_TO" dev
  unstub wharf
}

@test "an unrouted build is registered, says so, and exports no route" {
  stub_wharf_answering unrouted

  run "$BASH" "$SCRIPT"

  assert_success
  assert_output --partial "$(grep 'Routed to' "$(contract_report unrouted)")"
  # shellcheck disable=SC1090
  source "$BASH_ENV"
  assert_equal "$WHARF_ARTIFACT_ID" 01a20a6609bc71e685b58f798dce5c7b
  assert_equal "$WHARF_ROUTED_TO" ""
  unstub wharf
}

@test "the token comes from the variable the token parameter names" {
  export PARAM_TOKEN_ENV=SHOP_RELEASE_TOKEN SHOP_RELEASE_TOKEN=other-token-value
  stub_wharf_answering routed

  run "$BASH" "$SCRIPT"

  assert_success
  run grep -x "WHARF_TOKEN=other-token-value" "$BATS_TEST_TMPDIR/wharf.env"
  assert_success
  unstub wharf
}

@test "an empty username parameter falls back to WHARF_USERNAME" {
  export PARAM_USERNAME="" WHARF_USERNAME=context-bot
  stub_wharf_answering routed

  run "$BASH" "$SCRIPT"

  assert_success
  run grep -x "WHARF_USERNAME=context-bot" "$BATS_TEST_TMPDIR/wharf.env"
  assert_success
  unstub wharf
}

@test "a failing wharf fails the step with its exit code and its message in the parameters' names, and keeps the error outcome" {
  export PARAM_GIT_REF=main PARAM_ENVIRONMENT=staging
  stub_wharf_answering error

  run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_output --partial "wharf exited with 2 (usage)"
  run jq -r .error.kind "$PARAM_OUTCOME_FILE"
  assert_output usage
  assert_equal "$(cat "$BASH_ENV")" ""
  unstub wharf
}

@test "an unset token variable: wharf refuses, naming the variable and the keyless way" {
  unset WHARF_TOKEN
  use_real_wharf

  run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_line "error: missing token: set 'WHARF_TOKEN' or pass --token-file FILE, or log in keyless with the CI's identity token (CircleCI sets CIRCLE_OIDC_TOKEN_V2 only in jobs that use a context)"
}

@test "without the token variable, wharf gets no token and decides on keyless itself" {
  unset WHARF_TOKEN
  export CIRCLE_OIDC_TOKEN_V2=eyJhbGciOiJSUzI1NiJ9.oidc-SECRET.sig
  stub_wharf_answering routed

  run "$BASH" "$SCRIPT"

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.env")" "$(printf 'WHARF_TOKEN=(unset)\nWHARF_USERNAME=ci-bot')"
  refute_output --partial "oidc-SECRET"
  unstub wharf
}

@test "a token given where its variable's name belongs is refused without being printed" {
  export PARAM_TOKEN_ENV=$TOKEN
  stub wharf

  run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_output --partial "parameter 'token' must be the NAME of an environment variable"
  refute_output --partial "$TOKEN"
  unstub wharf
}

@test "a token that looks like a variable name is not printed either" {
  export PARAM_TOKEN_ENV=wharfpat_8c1d0a2b93f64e7a
  use_real_wharf

  run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_line --partial "error: missing token: set 'token'"
  refute_output --partial wharfpat_8c1d0a2b93f64e7a
}

@test "bad parameters the orb maps itself are errors that name them, before wharf runs" {
  stub wharf
  local -a cases=(
    "PARAM_PUSH=yes|parameter 'push' must be true or false, got 'yes'"
    "PARAM_DRY_RUN=1|parameter 'dry-run' must be true or false, got '1'"
    "PARAM_REQUIRE_ROUTE=maybe|parameter 'require-route' must be true or false, got 'maybe'"
    "PARAM_OUTCOME_FILE=|parameter 'outcome-file' is empty"
    "PARAM_TOKEN_ENV=|parameter 'token' is empty"
  )
  local case setting message
  for case in "${cases[@]}"; do
    setting=${case%%|*}
    message=${case#*|}
    run env "$setting" "$BASH" "$SCRIPT"
    assert_failure 2
    assert_output --partial "wharf/register: $message"
  done
  unstub wharf
}

@test "what wharf checks, wharf refuses, and its message names the orb's parameters" {
  use_real_wharf
  local -a cases=(
    "PARAM_GIT_REF=main PARAM_ENVIRONMENT=staging|'git-ref' and 'environment' were both given: use only one of 'git-ref', 'environment', 'release-stream'"
    "PARAM_PROJECT=|missing project: set 'project'"
    "PARAM_SERVICE=|missing service: set 'service' (or 'ci-name')"
    "PARAM_USERNAME=|missing username: set 'username'"
    "PARAM_CONTROL_PLANE_URL=wharf.example.com|control plane URL 'wharf.example.com' must start with https:// (or http:// for loopback)"
  )
  local case settings said
  for case in "${cases[@]}"; do
    IFS='|' read -r settings said <<<"$case"
    # shellcheck disable=SC2086 # settings are NAME=VALUE words
    run env $settings "$BASH" "$SCRIPT"
    assert_failure 2
    assert_line "error: $said"
  done
}

@test "without wharf on PATH the error points at the install command" {
  PATH=$BATS_TEST_TMPDIR/empty run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_output "wharf/register: wharf is not on PATH: run the wharf/install command before wharf/register"
}

@test "without jq on PATH the step stops before registering" {
  stub wharf

  PATH=$BATS_MOCK_BINDIR run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_output --partial "jq is not on PATH"
  unstub wharf
}
