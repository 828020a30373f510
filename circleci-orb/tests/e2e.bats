#!/usr/bin/env bats
# End to end: the packed orb.yml's steps, run as a CircleCI agent would (helpers/circleci_sim.py,
# since CircleCI itself cannot run here), in a CircleCI job's environment, with the real wharf
# against a real `wharf serve`. The record is asserted through the control plane's API.
# Parameters hold literal ${VARS} for the script to expand; WHARF_BIN comes from control-plane.bash.
# shellcheck disable=SC2016,SC2153

load test_helper
# shellcheck source=/dev/null
source "$REPO_ROOT/tests/adapters/control-plane.bash"
# shellcheck source=/dev/null
source "$REPO_ROOT/tests/adapters/release.bash"

setup_file() {
  start_control_plane
  CI_BOT_TOKEN=$(ci_bot_token)
  # A fixture release (scripts/dist) on loopback, for the job's install step, and the orb
  # packed with its pins.
  make_fixture_release "$BATS_FILE_TMPDIR/releases"
  serve_releases "$BATS_FILE_TMPDIR/releases"
  ORB_YML=$BATS_FILE_TMPDIR/orb.yml
  pack_orb_pinning_fixture "$ORB_YML"
  export ORB_YML CI_BOT_TOKEN
}

teardown_file() {
  stop_releases
  stop_control_plane
}

setup() {
  WHARF_DIR=$BATS_TEST_TMPDIR/wharf-bin
  mkdir -p "$WHARF_DIR"
  ln -s "$WHARF_BIN" "$WHARF_DIR/wharf"
  BASH_ENV_FILE=$BATS_TEST_TMPDIR/bash_env
  : >"$BASH_ENV_FILE"
  WORKFLOW_ID=$(cat /proc/sys/kernel/random/uuid)
  SHA=$(printf '%040d' "$RANDOM")
}

# Runs the orb's agent simulator in a CircleCI job's environment and nothing else: the
# variables CircleCI sets on a push to main, plus the context's WHARF_TOKEN.
circleci() {
  env -i HOME="$BATS_TEST_TMPDIR/home" PATH="${JOB_PATH:-$WHARF_DIR}:/usr/local/bin:/usr/bin:/bin" \
    CIRCLECI=true CI=true CIRCLE_BRANCH=main CIRCLE_SHA1="$SHA" CIRCLE_BUILD_NUM=101 \
    CIRCLE_WORKFLOW_ID="$WORKFLOW_ID" CIRCLE_WORKFLOW_JOB_ID=job-101 \
    CIRCLE_BUILD_URL=https://circleci.com/gh/acme/shop/101 CIRCLE_JOB=register \
    CIRCLE_PROJECT_USERNAME=acme CIRCLE_PROJECT_REPONAME=shop \
    CIRCLE_REPOSITORY_URL=git@github.com:acme/shop.git CIRCLE_WORKING_DIRECTORY='~/project' \
    BASH_ENV="$BASH_ENV_FILE" WHARF_TOKEN="${CONTEXT_TOKEN-$CI_BOT_TOKEN}" \
    WHARF_INSTALL_TARGET="$FIXTURE_TARGET" \
    "$WHARF_CI_PYTHON" "$ORB_DIR/tests/helpers/circleci_sim.py" "$ORB_YML" "$@"
}

builds_of_this_workflow() {
  wharf_admin builds --project shop --service api --external-id "$WORKFLOW_ID"
}

@test "the register command registers the image, routed to dev, and exports the outcome" {
  run circleci --command register \
    --param control-plane-url="$WHARF_TEST_URL" --param username=ci-bot \
    --param project=shop --param service=api \
    --param 'image=registry.example.com/shop/api:${CIRCLE_SHA1}' \
    --param 'description=build ${CIRCLE_BUILD_NUM}' \
    --param outcome-file="$BATS_TEST_TMPDIR/out/outcome.json"

  assert_success
  assert_output --partial '| Routed to | **dev** (rule `shop-branches`) |'
  refute_output --partial "$CI_BOT_TOKEN"

  run builds_of_this_workflow
  assert_success
  local record=$output
  assert_equal "$(jq length <<<"$record")" 1
  assert_equal "$(jq -r '.[0].routedTo' <<<"$record")" dev
  assert_equal "$(jq -r '.[0].artifactUri' <<<"$record")" "registry.example.com/shop/api:$SHA"
  assert_equal "$(jq -r '.[0].createdBy' <<<"$record")" ci-bot
  assert_equal "$(jq -r '.[0].metadata.CI_PROVIDER' <<<"$record")" circleci
  assert_equal "$(jq -r '.[0].metadata.BRANCH_NAME' <<<"$record")" main
  assert_equal "$(jq -r '.[0].metadata.COMMIT_SHA' <<<"$record")" "$SHA"
  assert_equal "$(jq -r '.[0].metadata.BUILD_URL' <<<"$record")" https://circleci.com/gh/acme/shop/101

  run grep -F "$CI_BOT_TOKEN" "$BASH_ENV_FILE"
  assert_failure 1
  # shellcheck disable=SC1090
  source "$BASH_ENV_FILE"
  assert_equal "$WHARF_ARTIFACT_ID" "$(jq -r '.[0].artifactId' <<<"$record")"
  assert_equal "$WHARF_ROUTED_TO" dev
  assert_equal "$(jq -r .externalId "$WHARF_OUTCOME_FILE")" "$WORKFLOW_ID"
}

@test "the register job installs the release, registers, and stores the outcome as an artifact" {
  JOB_PATH=/nonexistent run circleci --job register \
    --param version="$FIXTURE_VERSION" --param base-url="$RELEASES_URL" --param install-dir='~/bin' \
    --param control-plane-url="$WHARF_TEST_URL" --param username=ci-bot \
    --param project=shop --param service=api --param require-route=true \
    --param 'image=registry.example.com/shop/api:${CIRCLE_SHA1}' \
    --artifacts "$BATS_TEST_TMPDIR/artifacts"

  assert_success
  assert_line "wharf install: installed wharf $FIXTURE_VERSION ($FIXTURE_TARGET, SHA-256 verified) in $BATS_TEST_TMPDIR/home/bin"
  refute_output --partial "$CI_BOT_TOKEN"
  run builds_of_this_workflow
  assert_equal "$(jq -r '.[0].routedTo' <<<"$output")" dev
  assert_equal "$(jq -r .routedTo "$BATS_TEST_TMPDIR/artifacts/wharf-outcome.json")" dev
  assert [ -x "$BATS_TEST_TMPDIR/home/bin/wharf" ]
}

@test "a registration the control plane refuses fails the step and records nothing" {
  CONTEXT_TOKEN=not-a-valid-token run circleci --command register \
    --param control-plane-url="$WHARF_TEST_URL" --param username=ci-bot \
    --param project=shop --param service=api --param image=registry.example.com/shop/api:1 \
    --param outcome-file="$BATS_TEST_TMPDIR/outcome.json"

  assert_failure 3
  assert_output --partial "wharf exited with 3 (auth)"
  refute_output --partial not-a-valid-token
  run builds_of_this_workflow
  assert_output "[]"
  assert_equal "$(cat "$BASH_ENV_FILE")" ""
}

@test "a missing token variable: wharf refuses before it sends anything, naming the variable" {
  CONTEXT_TOKEN="" run circleci --command register \
    --param control-plane-url="$WHARF_TEST_URL" --param username=ci-bot \
    --param project=shop --param service=api --param image=registry.example.com/shop/api:1

  assert_failure 2
  assert_output --partial "error: missing token: set 'WHARF_TOKEN'"
}
