#!/usr/bin/env bats
# End to end: the example buildspec, run as CodeBuild would (run-buildspec.py, with a JSON
# file standing in for SSM Parameter Store, since AWS cannot run here), with the real wharf
# against a real `wharf serve`. docker and aws are stubbed: there is no Docker engine and no
# AWS account here. The record is asserted through the control plane's API.

load test_helper
# shellcheck source=/dev/null
source "$REPO_ROOT/tests/adapters/control-plane.bash"

REPO=123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api

setup_file() {
  start_control_plane
  CI_BOT_TOKEN=$(ci_bot_token)
  # A release of the binary under test, laid out like the published ones, for the install
  # phase (the archive is built once: the binary is large).
  RELEASES=$BATS_FILE_TMPDIR/releases
  local archive
  archive=wharf-v0.1.0-$(uname -m)-unknown-linux-musl.tar.gz
  mkdir -p "$RELEASES/v0.1.0" "$BATS_FILE_TMPDIR/release"
  cp "$WHARF_BIN" "$BATS_FILE_TMPDIR/release/wharf"
  tar -czf "$RELEASES/v0.1.0/$archive" -C "$BATS_FILE_TMPDIR/release" wharf
  (cd "$RELEASES/v0.1.0" && sha256sum "$archive" >"$archive.sha256")
  export CI_BOT_TOKEN RELEASES
}

teardown_file() {
  stop_control_plane
}

setup() {
  setup_build_dir
  parameter_store "/wharf/ci-token=$CI_BOT_TOKEN"
  ln -s "$WHARF_BIN" "$BATS_MOCK_BINDIR/wharf"
}

# The project's own environment: its control plane is the test's.
codebuild_against_test_control_plane() {
  codebuild WHARF_CONTROL_PLANE_URL="$WHARF_TEST_URL" "$@"
}

record_of() {
  wharf_admin builds --project shop --service api | jq --arg image "$1" '[.[] | select(.artifactUri == $image)]'
}

@test "a push to main is registered, routed to dev, under CodeBuild's build id" {
  stub_aws_and_docker "$REPO:$COMMIT"

  run codebuild_against_test_control_plane --branch main --build-number 41

  assert_success
  assert_line "[Container] Build SUCCEEDED"
  refute_output --partial "$CI_BOT_TOKEN"
  run record_of "$REPO:$COMMIT"
  local record=$output
  assert_equal "$(jq length <<<"$record")" 1
  assert_equal "$(jq -r '.[0].routedTo' <<<"$record")" dev
  assert_equal "$(jq -r '.[0].createdBy' <<<"$record")" ci-bot
  assert_equal "$(jq -r '.[0].metadata.CI_PROVIDER' <<<"$record")" codebuild
  assert_equal "$(jq -r '.[0].metadata.BRANCH_NAME' <<<"$record")" main
  assert_equal "$(jq -r '.[0].metadata.COMMIT_SHA' <<<"$record")" "$COMMIT"
  local build_id
  build_id=$(jq -r '.[0].externalId' <<<"$record")
  assert_regex "$build_id" '^wharf-example:[0-9a-f-]{36}$'
  assert_equal "$(jq -r '.[0].metadata.BUILD_URL' <<<"$record")" \
    "https://eu-west-1.console.aws.amazon.com/codebuild/home?region=eu-west-1#/builds/${build_id/:/%3A}/view/new"
  assert_equal "$(exported WHARF_ARTIFACT_ID)" "$(jq -r '.[0].artifactId' <<<"$record")"
  assert_equal "$(exported WHARF_ROUTED_TO)" dev
  assert_equal "$(jq -r .externalId "$BATS_TEST_TMPDIR/artifacts/wharf-outcome.json")" "$build_id"
  unstub docker
  unstub aws
}

@test "a push to a release branch is routed to staging" {
  stub_aws_and_docker "$REPO:$COMMIT"

  run codebuild_against_test_control_plane --branch release/1.4

  assert_success
  run record_of "$REPO:$COMMIT"
  assert_equal "$(jq -r '.[0].routedTo' <<<"$output")" staging
  assert_equal "$(jq -r '.[0].metadata.BRANCH_NAME' <<<"$output")" release/1.4
  unstub docker
  unstub aws
}

@test "without wharf in the build image, the install phase fetches the release and checks it" {
  rm "$BATS_MOCK_BINDIR/wharf"
  stub_aws_and_docker "$REPO:$COMMIT"

  run codebuild_against_test_control_plane WHARF_RELEASES="file://$RELEASES" \
    WHARF_INSTALL_DIR="$BATS_MOCK_BINDIR" --branch main

  assert_success
  assert_line --regexp "^wharf-.*\\.tar\\.gz: OK$"
  assert [ -x "$BATS_MOCK_BINDIR/wharf" ]
  run record_of "$REPO:$COMMIT"
  assert_equal "$(jq -r '.[0].routedTo' <<<"$output")" dev
  unstub docker
  unstub aws
}

@test "a release whose checksum does not match is not installed, and nothing is built" {
  rm "$BATS_MOCK_BINDIR/wharf"
  local tampered=$BATS_TEST_TMPDIR/tampered
  cp -r "$RELEASES" "$tampered"
  local checksum
  for checksum in "$tampered"/v0.1.0/*.sha256; do
    printf '%064d  %s\n' 0 "$(basename "$checksum" .sha256)" >"$checksum"
  done
  stub docker

  run codebuild_against_test_control_plane WHARF_RELEASES="file://$tampered" \
    WHARF_INSTALL_DIR="$BATS_MOCK_BINDIR" --branch main

  assert_failure 1
  assert_line --regexp "^wharf-.*\\.tar\\.gz: FAILED$"
  assert_line "[Container] Phase complete: INSTALL State: FAILED"
  assert [ ! -e "$BATS_MOCK_BINDIR/wharf" ]
  run record_of "$REPO:$COMMIT"
  assert_output "[]"
  unstub docker
}

@test "a token the control plane refuses fails the build without printing it" {
  parameter_store "/wharf/ci-token=wharf-revoked-token-0c9e"
  stub_aws_and_docker "$REPO:$COMMIT"

  run codebuild_against_test_control_plane --branch main

  assert_failure 1
  assert_line --partial "error: the control plane refused the credentials (401)"
  assert_line "[Container] Build FAILED"
  refute_output --partial wharf-revoked-token-0c9e
  assert_equal "$(jq -r .error.exitCode "$BATS_TEST_TMPDIR/artifacts/wharf-outcome.json")" 3
  run record_of "$REPO:$COMMIT"
  assert_output "[]"
  unstub docker
  unstub aws
}

@test "a missing token parameter stops the build before anything runs" {
  parameter_store
  stub docker

  run codebuild_against_test_control_plane --branch main

  assert_failure 1
  assert_line --partial "parameter does not exist: /wharf/ci-token (env.parameter-store WHARF_TOKEN)"
  run record_of "$REPO:$COMMIT"
  assert_output "[]"
  unstub docker
}
