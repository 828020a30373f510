#!/usr/bin/env bats
# End to end: wharfRegister run as a Pipeline runs it (test/e2e/RunStep.groovy: the step's
# Groovy with real `sh -xe`), in a Jenkins multibranch build's environment, with the real wharf
# against a real `wharf serve`. The record is asserted through the control plane's API.
# WHARF_BIN comes from control-plane.bash.
# shellcheck source-path=SCRIPTDIR

SHIM_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
REPO_ROOT=$(cd "$SHIM_DIR/.." && pwd)
TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}
load "$TOOLS/bats-support/load.bash"
load "$TOOLS/bats-assert/load.bash"
# shellcheck source=../../tests/adapters/control-plane.bash
source "$REPO_ROOT/tests/adapters/control-plane.bash"
# shellcheck source=../../tests/adapters/oci-layout.bash
source "$REPO_ROOT/tests/adapters/oci-layout.bash"

setup_file() {
  start_control_plane
  CI_BOT_TOKEN=$(ci_bot_token)
  export CI_BOT_TOKEN
}

teardown_file() {
  stop_control_plane
}

setup() {
  AGENT_BIN=$BATS_TEST_TMPDIR/bin
  mkdir -p "$AGENT_BIN" "$BATS_TEST_TMPDIR/workspace" "$BATS_TEST_TMPDIR/home"
  ln -s "$WHARF_BIN" "$AGENT_BIN/wharf"
  BUILD_TAG=jenkins-shop-main-$RANDOM$RANDOM
  COMMIT=$(printf '%040d' "$RANDOM")
  CREDENTIALS=$(jq -cn --arg token "$CI_BOT_TOKEN" \
    '{"wharf-ci-bot": {username: "ci-bot", password: $token}, "wharf-token": {secret: $token}}')
}

# jenkins PARAMETERS_JSON [VAR=value…]: the step in a Jenkins multibranch build of main, build 7
# (the variables Jenkins and the git plugin set; Jenkins sets no CI=true); VAR=value pairs add
# to or change them. Nothing else from this shell's environment gets in.
jenkins() {
  env -i HOME="$BATS_TEST_TMPDIR/home" PATH="$AGENT_BIN:/usr/local/bin:/usr/bin:/bin" \
    JAVA_HOME="$JAVA_HOME" \
    JENKINS_URL=https://jenkins.example.com/ JOB_NAME=shop/main JOB_BASE_NAME=main \
    JOB_URL=https://jenkins.example.com/job/shop/job/main/ BUILD_NUMBER=7 BUILD_ID=7 \
    BUILD_TAG="$BUILD_TAG" BUILD_URL=https://jenkins.example.com/job/shop/job/main/7/ \
    BRANCH_NAME=main BRANCH_IS_PRIMARY=true GIT_BRANCH=main GIT_COMMIT="$COMMIT" \
    GIT_URL=https://git.example.com/acme/shop.git NODE_NAME=agent-1 EXECUTOR_NUMBER=0 \
    WORKSPACE="$BATS_TEST_TMPDIR/workspace" E2E_CREDENTIALS="$CREDENTIALS" "${@:2}" \
    groovy -cp "$SHIM_DIR/src:$SHIM_DIR/test:$SHIM_DIR/test/stubs" -Dwharf.jenkinsShim="$SHIM_DIR" \
    "$SHIM_DIR/test/e2e/RunStep.groovy" "$1"
}

# The step's parameters for service api: credentialsId wharf-ci-bot, plus the given jq object.
params() {
  jq -cn --arg url "$WHARF_TEST_URL" "{controlPlaneUrl: \$url, credentialsId: \"wharf-ci-bot\",
    project: \"shop\", service: \"api\", image: \"registry.example.com/shop/api:1.4.2\"} + ${1:-{\}}"
}

builds_of_this_build() {
  wharf_admin builds --project shop --service api --external-id "$BUILD_TAG"
}

refute_token_shown() {
  refute_output --partial "$CI_BOT_TOKEN"
  if grep -qF "$CI_BOT_TOKEN" "$WHARF_TEST_DIR/server.log"; then
    fail "the token is in the server's log"
  fi
}

@test "a build of main is registered, routed to dev, from Jenkins' own variables" {
  run jenkins "$(params)"
  assert_success
  refute_token_shown
  local report=$output

  run jq -r '[.error, .result.routedTo, .result.ruleName, .result.externalId, .result.replayed] | @tsv' <<<"$report"
  assert_output "$(printf '\tdev\tshop-branches\t%s\tfalse' "$BUILD_TAG")"
  local artifact_id
  artifact_id=$(jq -r .result.artifactId <<<"$report")
  run jq -r .description <<<"$report"
  assert_output "wharf: shop/api registered registry.example.com/shop/api:1.4.2 as build $artifact_id, routed to dev (rule shop-branches)"

  run builds_of_this_build
  assert_success
  run jq -r '.[] | [.artifactId, .routedTo, .createdBy, .artifactUri, .metadata.CI_PROVIDER,
    .metadata.BRANCH_NAME, .metadata.COMMIT_SHA, .metadata.BUILD_URL] | @tsv' <<<"$output"
  assert_output "$(printf '%s\t' "$artifact_id" dev ci-bot registry.example.com/shop/api:1.4.2 jenkins main \
    "$COMMIT")https://jenkins.example.com/job/shop/job/main/7/"
}

@test "re-running the build is a replay, and the description keeps what was there" {
  run jenkins "$(params)"
  assert_success
  run jenkins "$(params)" E2E_DESCRIPTION='built 1.4.2'
  assert_success

  run jq -r '.result.replayed, .description' <<<"$output"
  assert_line --index 0 true
  assert_line --index 1 'built 1.4.2'
  assert_line --index 2 --regexp '^wharf: shop/api already registered registry.example.com/shop/api:1.4.2 as build [0-9a-f]{32}, routed to dev \(rule shop-branches\)$'
  run builds_of_this_build
  run jq length <<<"$output"
  assert_output 1
}

@test "a pull request routes by CHANGE_BRANCH, with a Secret text credential" {
  run jenkins "$(params '{tokenCredentialsId: "wharf-token", username: "ci-bot"} | del(.credentialsId)')" \
    BRANCH_NAME=PR-24 CHANGE_ID=24 CHANGE_BRANCH=release/1.4 CHANGE_TARGET=main \
    CHANGE_URL=https://git.example.com/acme/shop/pull/24
  assert_success
  refute_token_shown
  run jq -r '[.error, .result.routedTo] | @tsv' <<<"$output"
  assert_output "$(printf '\tstaging')"

  run builds_of_this_build
  run jq -r '.[] | [.routedTo, .createdBy, .metadata.BRANCH_NAME, .metadata.PR_NUMBER, .metadata.TARGET_BRANCH] | @tsv' \
    <<<"$output"
  assert_output "$(printf 'staging\tci-bot\trelease/1.4\t24\tmain')"
}

@test "an unrouted branch with requireRoute fails with wharf's message and exit code 6, and registers nothing" {
  run jenkins "$(params '{requireRoute: true}')" BRANCH_NAME=feature/login GIT_BRANCH=feature/login
  assert_success
  run jq -r '.error, .description, .result' <<<"$output"
  assert_line --index 0 --partial "wharfRegister: wharf register failed with exit code 6 (not_routed): GIT_REF 'feature/login' matches no routing rule"
  assert_line --index 1 null
  assert_line --index 2 null

  run builds_of_this_build
  assert_output '[]'
}

@test "wharf words its refusals in the step's parameters" {
  run jenkins "$(params '{gitRef: "main", environment: "staging"}')"
  assert_success
  run jq -r .error <<<"$output"
  assert_output "wharfRegister: wharf register failed with exit code 2 (usage): 'gitRef' and 'environment' were both given: use only one of 'gitRef', 'environment', 'releaseStream'"

  run jenkins "$(params '{tag: "v1"}')"
  assert_success
  run jq -r .error <<<"$output"
  assert_output "wharfRegister: wharf register failed with exit code 2 (usage): 'tag' only applies when pushing: add 'push', or remove 'tag'"
}

@test "a token the control plane refuses fails with exit code 3, and is not shown" {
  CREDENTIALS='{"wharf-ci-bot": {"username": "ci-bot", "password": "not-the-token-7f3e9a"}}'
  run jenkins "$(params)"
  assert_success
  refute_output --partial not-the-token-7f3e9a
  run jq -r .error <<<"$output"
  assert_output --regexp '^wharfRegister: wharf register failed with exit code 3 \(auth\): '

  run builds_of_this_build
  assert_output '[]'
}

@test "push copies the image into the control plane's registry and registers it by digest" {
  local digest
  digest=$(make_oci_layout "$BATS_TEST_TMPDIR/workspace/image" 1.4.2 "built by $BUILD_TAG")

  run jenkins "$(params '{image: "oci:image:1.4.2", push: true, tag: "v1.4.2"}')"
  assert_success
  refute_token_shown
  local report=$output

  run jq -r '[.error, .result.digest, .result.tag, .result.routedTo] | @tsv' <<<"$report"
  assert_output "$(printf '\t%s\tv1.4.2\tdev' "$digest")"
  local pushed_uri
  pushed_uri=$(jq -r .result.pushedUri <<<"$report")
  assert_equal "${pushed_uri#*@}" "$digest"
  assert_equal "${pushed_uri%@*}" "${WHARF_TEST_URL#http://}/shop/api"

  run builds_of_this_build
  run jq -r '.[] | [.artifactUri, .routedTo] | @tsv' <<<"$output"
  assert_output "$(printf '%s\tdev' "$pushed_uri")"
}
