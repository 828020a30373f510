#!/usr/bin/env bats
# The example buildspec with wharf, docker and aws stubbed: what wharf is given (flags and
# environment), what happens when a phase fails, and what the build exports.

load test_helper

TOKEN=cb-token-4be1d7-do-not-print
REPO=123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api

setup() {
  setup_build_dir
  parameter_store "/wharf/ci-token=$TOKEN"
  OUTCOME=$(contract_answer routed)
  ARTIFACT_ID=$(jq -r .artifactId "$OUTCOME")
}

# wharf as the build image would have it: `--version` for the install phase, then one
# registration that records its argv and the WHARF_* and CODEBUILD_* variables it sees.
stub_wharf() {
  local status=${1:-0}
  stub wharf \
    "--version : echo wharf 0.1.0" \
    "* : printf '%s\n' \"\$@\" >'$BATS_TEST_TMPDIR/wharf.argv'; env | grep -E '^(WHARF|CODEBUILD)_' | sort >'$BATS_TEST_TMPDIR/wharf.env'; cat '$OUTCOME'; exit $status"
}

wharf_saw() {
  grep -qx "$1" "$BATS_TEST_TMPDIR/wharf.env"
}

@test "post_build registers the pushed image; everything else reaches wharf through its environment" {
  stub_aws_and_docker "$REPO:$COMMIT"
  stub_wharf

  run codebuild --branch main

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.argv")" "$(printf '%s\n' --output json register --image "$REPO:$COMMIT")"
  wharf_saw "WHARF_TOKEN=$TOKEN"
  wharf_saw WHARF_USERNAME=ci-bot
  wharf_saw WHARF_PROJECT=shop
  wharf_saw WHARF_SERVICE=api
  wharf_saw WHARF_CONTROL_PLANE_URL=https://wharf.example.com
  wharf_saw CODEBUILD_WEBHOOK_HEAD_REF=refs/heads/main
  wharf_saw "CODEBUILD_RESOLVED_SOURCE_VERSION=$COMMIT"
  assert_line "wharf registered $REPO:$COMMIT as build $ARTIFACT_ID, routed to dev"
  assert_line "[Container] Build SUCCEEDED"
  refute_output --partial "$TOKEN"
  assert_equal "$(exported IMAGE_URI)" "$REPO:$COMMIT"
  assert_equal "$(exported WHARF_ARTIFACT_ID)" "$ARTIFACT_ID"
  assert_equal "$(exported WHARF_ROUTED_TO)" dev
  assert_equal "$(jq -r .artifactId "$BATS_TEST_TMPDIR/artifacts/wharf-outcome.json")" "$ARTIFACT_ID"
  unstub wharf
  unstub docker
  unstub aws
}

@test "an IMAGE_URI set on the project is the image built, pushed and registered" {
  local image=123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:v1.4.2
  stub_aws_and_docker "$image"
  stub_wharf

  run codebuild IMAGE_URI="$image" --branch main

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.argv")" "$(printf '%s\n' --output json register --image "$image")"
  unstub wharf
  unstub docker
  unstub aws
}

@test "an unrouted build is registered, and the build says so and exports no route" {
  stub_aws_and_docker "$REPO:$COMMIT"
  OUTCOME=$(contract_answer unrouted)
  stub_wharf

  run codebuild --branch main

  assert_success
  assert_line "wharf registered $REPO:$COMMIT as build $(jq -r .artifactId "$OUTCOME"), routed to nothing (unclassified)"
  assert_equal "$(exported WHARF_ROUTED_TO)" ""
  unstub wharf
  unstub docker
  unstub aws
}

@test "a failed docker build registers nothing" {
  stub aws "ecr get-login-password : echo ecr-password-from-aws"
  stub docker "login * : cat >/dev/null" "build * : echo 'no space left on device' >&2; exit 1"
  stub wharf "--version : echo wharf 0.1.0"

  run codebuild --branch main

  assert_failure 1
  assert_line "[Container] Phase complete: BUILD State: FAILED"
  refute_line --partial "Entering phase POST_BUILD"
  assert [ ! -e "$BATS_TEST_TMPDIR/artifacts/wharf-outcome.json" ]
  unstub wharf
  unstub docker
  unstub aws
}

@test "a refused registration fails the build, and the error outcome is kept as an artifact" {
  stub_aws_and_docker "$REPO:$COMMIT"
  OUTCOME=$(contract_answer error)
  stub_wharf "$(contract_exit_code "$OUTCOME")"

  run codebuild --branch main

  assert_failure 1
  assert_line --partial "Command did not exit successfully wharf --output json register"
  assert_line --partial "exit status 2"
  assert_line "[Container] Build FAILED"
  assert_equal "$(jq -r .error.exitCode "$BATS_TEST_TMPDIR/artifacts/wharf-outcome.json")" 2
  assert_equal "$(jq -r .error.kind "$BATS_TEST_TMPDIR/artifacts/wharf-outcome.json")" usage
  refute_output --partial "$TOKEN"
  unstub wharf
  unstub docker
  unstub aws
}

@test "a token missing from Parameter Store fails the build before any phase runs" {
  parameter_store "/wharf/other=x"
  stub wharf
  stub docker

  run codebuild --branch main

  assert_failure 1
  assert_line "[Container] Phase context status code: Decrypted Variables Error Message: parameter does not exist: /wharf/ci-token (env.parameter-store WHARF_TOKEN)"
  refute_line --partial "Entering phase INSTALL"
  unstub wharf
  unstub docker
}

@test "the buildspec's commands pass shellcheck" {
  local shellcheck=${WHARF_SHELLCHECK:-$REPO_ROOT/.ci/venv/bin/shellcheck}
  local script=$BATS_TEST_TMPDIR/commands.sh
  "$WHARF_CI_PYTHON" - "$BUILDSPEC" >"$script" <<'PY'
import sys
from ruamel.yaml import YAML
spec = YAML(typ="safe").load(open(sys.argv[1]))
assert spec["env"]["shell"] == "bash"
print("#!/usr/bin/env bash")
for phase in spec["phases"].values():
    for command in phase.get("commands", []) + phase.get("finally", []):
        print(command)
PY

  run "$shellcheck" "$script"

  assert_success
}

@test "docs/codebuild.md shows this buildspec, unchanged" {
  local shown
  shown=$(awk '/^```yaml$/ && !seen { inside = 1; seen = 1; next } inside && /^```$/ { exit } inside' \
    "$REPO_ROOT/docs/codebuild.md")

  assert_equal "$shown" "$(cat "$BUILDSPEC")"
}
