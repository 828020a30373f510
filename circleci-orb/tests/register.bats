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
  stub wharf "* : printf '%s\n' \"\$@\" >'$BATS_TEST_TMPDIR/wharf.argv'; printf 'WHARF_TOKEN=%s\nWHARF_USERNAME=%s\n' \"\${WHARF_TOKEN:-}\" \"\${WHARF_USERNAME:-}\" >'$BATS_TEST_TMPDIR/wharf.env'; cat '$answer'; exit $status"
}

assert_argv() {
  local expected
  expected=$(printf '%s\n' "$@")
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
  assert_output --partial "registered registry.example.com/shop/api:1.4.2 as build 01a20a66090c7690bc860088cf32f9c8, routed to dev (rule shop-branches)"
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
  assert_output --partial "dry run, nothing was written; the build would be routed to dev"
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
  assert_output --partial "registered cp.example.com/shop/api@sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4 as build 01a20a692532761a8626cb2c849edc77, routed to dev"
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
  assert_output --partial "as build 01a20a6609bc71e685b58f798dce5c7b, routed nowhere (stored unclassified)"
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
  assert_line "wharf/register: 'git-ref' and 'environment' were both given: use only one of 'git-ref', 'environment', 'release-stream'"
  assert_output --partial "wharf exited with 2 (usage)"
  run jq -r .error.kind "$PARAM_OUTCOME_FILE"
  assert_output usage
  assert_equal "$(cat "$BASH_ENV")" ""
  unstub wharf
}

@test "an unset token variable is an error naming the parameter and the variable" {
  unset WHARF_TOKEN
  stub wharf

  run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_output "wharf/register: parameter 'token' names the variable 'WHARF_TOKEN', which is not set: add it to a context or the project's environment variables (or run the job with a context, so CircleCI sets CIRCLE_OIDC_TOKEN_V2 for a keyless login)"
  unstub wharf
}

@test "without the token variable, CIRCLE_OIDC_TOKEN_V2 makes wharf log in keyless" {
  unset WHARF_TOKEN
  export CIRCLE_OIDC_TOKEN_V2=eyJhbGciOiJSUzI1NiJ9.oidc-SECRET.sig
  stub_wharf_answering routed

  run "$BASH" "$SCRIPT"

  assert_success
  assert_output --partial "'WHARF_TOKEN' is not set: logging in keyless with the job's identity token (CIRCLE_OIDC_TOKEN_V2)"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.env")" "$(printf 'WHARF_TOKEN=\nWHARF_USERNAME=ci-bot')"
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
  stub wharf

  run "$BASH" "$SCRIPT"

  assert_failure 2
  assert_output --partial "parameter 'token' names the variable (name not shown)"
  refute_output --partial wharfpat_8c1d0a2b93f64e7a
  unstub wharf
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
  local -a cases=(
    "PARAM_PROJECT=|missing project: pass --project or set WHARF_PROJECT|missing project: set 'project'"
    "PARAM_SERVICE=|missing service: pass --service (or --ci-name) or set WHARF_SERVICE|missing service: set 'service' (or 'ci-name')"
    "PARAM_USERNAME=|missing username: set WHARF_USERNAME|missing username: set 'username'"
    "PARAM_CONTROL_PLANE_URL=wharf.example.com|control plane URL 'wharf.example.com' must start with https://|control plane URL 'wharf.example.com' must start with https://"
  )
  local case setting said translated
  for case in "${cases[@]}"; do
    IFS='|' read -r setting said translated <<<"$case"
    stub_wharf_answering error "$said"
    run env "$setting" "$BASH" "$SCRIPT"
    assert_failure 2
    assert_line "wharf/register: $translated"
    unstub wharf
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
