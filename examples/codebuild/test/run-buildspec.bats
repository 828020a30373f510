#!/usr/bin/env bats
# run-buildspec.py, the stand-in for CodeBuild, keeps the semantics the example relies on:
# environment precedence, one shell for all phases, phase transitions, Parameter Store.
# The buildspecs hold literal $VARS for the simulated shell to expand.
# shellcheck disable=SC2016

load test_helper

setup() {
  setup_build_dir
  parameter_store "/app/secret=s3cret-value"
}

# Writes a buildspec for this test and runs it.
run_spec() {
  printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/spec.yml"
  shift
  run env -i PATH=/usr/bin:/bin "$@" "$WHARF_CI_PYTHON" "$RUNNER" "$BATS_TEST_TMPDIR/spec.yml" \
    --parameter-store "$PARAMETER_STORE" --branch feature/x --commit "$COMMIT" \
    --build-number 7 --source-dir "$SOURCE_DIR"
}

@test "variables: the project's win over the buildspec's; Parameter Store and CodeBuild's are set" {
  run_spec '
version: 0.2
env:
  variables: {FROM_SPEC: spec, OVERRIDDEN: spec}
  parameter-store: {SECRET: /app/secret}
phases:
  build:
    commands:
      - echo "$FROM_SPEC $OVERRIDDEN $SECRET"
      - echo "$CODEBUILD_WEBHOOK_TRIGGER $CODEBUILD_WEBHOOK_HEAD_REF $CODEBUILD_BUILD_NUMBER $CODEBUILD_BUILD_SUCCEEDING"
      - echo "$CODEBUILD_RESOLVED_SOURCE_VERSION $CODEBUILD_SRC_DIR"
      - echo "$CODEBUILD_BUILD_ID" | grep -Ex "wharf-example:[0-9a-f-]{36}"' OVERRIDDEN=project

  assert_success
  assert_line "spec project s3cret-value"
  assert_line "branch/feature/x refs/heads/feature/x 7 1"
  assert_line "$COMMIT $SOURCE_DIR"
  assert_line "[Container] Build SUCCEEDED"
}

@test "one shell runs every phase: what install exports, post_build sees" {
  run_spec '
version: 0.2
phases:
  install:
    commands: [export FROM_INSTALL=kept, cd /tmp]
  post_build:
    commands: [echo "$FROM_INSTALL $(pwd)"]'

  assert_success
  assert_line "kept /tmp"
}

@test "a failing command ends its phase; finally still runs" {
  run_spec '
version: 0.2
phases:
  build:
    commands: ["false", echo never]
    finally: [echo cleanup]'

  assert_failure 1
  refute_line never
  assert_line cleanup
  assert_line "[Container] Command did not exit successfully false exit status 1"
  assert_line "[Container] Phase complete: BUILD State: FAILED"
}

@test "a failed build phase runs post_build with CODEBUILD_BUILD_SUCCEEDING=0" {
  run_spec '
version: 0.2
phases:
  build:
    commands: ["false"]
  post_build:
    commands: [echo "post_build with CODEBUILD_BUILD_SUCCEEDING=$CODEBUILD_BUILD_SUCCEEDING"]'

  assert_failure 1
  assert_line "post_build with CODEBUILD_BUILD_SUCCEEDING=0"
}

@test "on-failure: ABORT skips the later phases; CONTINUE goes on" {
  run_spec '
version: 0.2
phases:
  build:
    on-failure: ABORT
    commands: ["false"]
  post_build:
    commands: [echo post_build ran]'
  assert_failure 1
  refute_line "post_build ran"

  run_spec '
version: 0.2
phases:
  pre_build:
    on-failure: CONTINUE
    commands: ["false"]
  build:
    commands: [echo build ran]'
  assert_failure 1
  assert_line "build ran"
}

@test "a failed install or pre_build phase ends the build" {
  run_spec '
version: 0.2
phases:
  pre_build:
    commands: ["false"]
  build:
    commands: [echo build ran]
  post_build:
    commands: [echo post_build ran]'

  assert_failure 1
  refute_line "build ran"
  refute_line "post_build ran"
}

@test "a command reading stdin does not swallow the commands after it" {
  run_spec '
version: 0.2
phases:
  build:
    commands: [cat, echo after cat]'

  assert_success
  assert_line "after cat"
}

@test "a Parameter Store name that does not exist fails the build before any phase" {
  run_spec '
version: 0.2
env:
  parameter-store: {SECRET: /app/missing}
phases:
  install:
    commands: [echo install ran]'

  assert_failure 1
  assert_line "[Container] Phase context status code: Decrypted Variables Error Message: parameter does not exist: /app/missing (env.parameter-store SECRET)"
  refute_line "install ran"
}

@test "only buildspec version 0.2 is simulated" {
  run_spec '
version: 0.1
phases: {}'

  assert_failure 2
  assert_output --partial "only buildspec version 0.2 is simulated"
}
