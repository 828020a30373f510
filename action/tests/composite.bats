#!/usr/bin/env bats
# The whole action end to end: action.yml's steps run as the runner runs them
# (run-composite.py) → the shared installer (install/install.sh) → the wharf-action of a
# fixture release (made by scripts/dist, served on loopback, pinned in the action's copy of
# install/checksums.txt) → a real `wharf serve` on loopback → the build asserted in the control
# plane. For version: source, cargo is stubbed: it "builds" by copying the wharf-action this
# repository's build already made.

load helpers
load ../../tests/adapters/control-plane.bash
load ../../tests/adapters/release.bash

WHARF_ACTION_BUILT=${WHARF_ACTION_BUILT:-$REPO_ROOT/target/debug/wharf-action}

setup_file() {
  make_fixture_release "$BATS_FILE_TMPDIR/releases"
  serve_releases "$BATS_FILE_TMPDIR/releases"
}

teardown_file() {
  stop_releases
}

setup() {
  runner_env
  start_control_plane
  # The action as a release of this repository checks it out: action/ beside install/, whose
  # checksums.txt pins the fixture release.
  CHECKOUT=$BATS_TEST_TMPDIR/checkout
  mkdir -p "$CHECKOUT"
  cp -r "$ACTION_DIR" "$REPO_ROOT/install" "$CHECKOUT/"
  fixture_pins "$CHECKOUT/install/checksums.txt"
  export WHARF_INSTALL_RELEASES=$RELEASES_URL WHARF_INSTALL_TARGET=$FIXTURE_TARGET
  export RUNNER_TOOL_CACHE=$BATS_TEST_TMPDIR/toolcache
  TOKEN=$(ci_bot_token)
  export GITHUB_ACTIONS=true CI=true GITHUB_EVENT_NAME=push GITHUB_REF=refs/heads/main \
    GITHUB_REF_NAME=main GITHUB_REF_TYPE=branch GITHUB_SHA=4f2a9c0e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f \
    GITHUB_REPOSITORY=acme/shop GITHUB_RUN_ID=77001 GITHUB_RUN_ATTEMPT=1 \
    GITHUB_SERVER_URL=https://github.example GITHUB_API_URL=http://127.0.0.1:9 \
    GITHUB_TOKEN=ghs_not_used_without_deployment GITHUB_ACTOR=octocat \
    GITHUB_STEP_SUMMARY="$BATS_TEST_TMPDIR/summary"
  echo '{"repository":{"full_name":"acme/shop"}}' >"$BATS_TEST_TMPDIR/event.json"
  export GITHUB_EVENT_PATH="$BATS_TEST_TMPDIR/event.json"
}

teardown() {
  stop_control_plane
}

# with_inputs KEY=VALUE… : writes the step's `with:` as JSON.
with_inputs() {
  jq -n '$ARGS.positional | map(split("=") | {(.[0]): (.[1:] | join("="))}) | add' \
    --args "$@" >"$BATS_TEST_TMPDIR/inputs.json"
}

run_action() {
  run "$PYTHON" "$ACTION_DIR/tests/run-composite.py" "$CHECKOUT/action/action.yml" \
    "$BATS_TEST_TMPDIR/inputs.json" "$BATS_TEST_TMPDIR/outputs.json"
}

@test "a push to main is registered, routed to dev, and the outputs are the action's" {
  with_inputs control-plane-url="$WHARF_TEST_URL" username=ci-bot token="$TOKEN" \
    project=shop service=api image=ghcr.io/acme/shop-api:2.0.0 version="$FIXTURE_VERSION"
  run_action
  assert_success
  assert_output --partial "installed wharf-action $FIXTURE_VERSION ($FIXTURE_TARGET, SHA-256 verified) in $RUNNER_TOOL_CACHE/wharf/"
  assert_output --partial "::add-mask::$TOKEN"
  # The mask command is the only line that may carry the token.
  [ "$(grep -cF -- "$TOKEN" <<<"$output")" = 1 ]
  run jq -r '.["routed-to"], .classified, .["image-uri"]' "$BATS_TEST_TMPDIR/outputs.json"
  assert_output $'dev\ntrue\nghcr.io/acme/shop-api:2.0.0'
  artifact_id=$(jq -r '.["artifact-id"]' "$BATS_TEST_TMPDIR/outputs.json")
  run wharf_admin builds --project shop --service api
  assert_success
  [ "$(jq -r '.[0].artifactId' <<<"$output")" = "$artifact_id" ]
  [ "$(jq -r '.[0].externalId' <<<"$output")" = 77001 ]
  [ "$(jq -r '.[0].routedTo' <<<"$output")" = dev ]
  grep -q "### wharf: shop/api registered" "$GITHUB_STEP_SUMMARY"
}

@test "an input the action does not map is an error in the workflow, not silently ignored" {
  with_inputs control-plane-url="$WHARF_TEST_URL" username=ci-bot token="$TOKEN" \
    project=shop service=api image=ghcr.io/acme/shop-api:2.0.0 version="$FIXTURE_VERSION" branch=main
  run_action
  assert_failure
  assert_output --partial "unexpected inputs ['branch']"
}

@test "a release stream and a git ref together fail with both input names" {
  with_inputs control-plane-url="$WHARF_TEST_URL" username=ci-bot token="$TOKEN" \
    project=shop service=api image=ghcr.io/acme/shop-api:2.0.0 version="$FIXTURE_VERSION" \
    git-ref=main release-stream=QA
  run_action
  assert_failure 2
  assert_output --partial "the 'git-ref' input and the 'release-stream' input were both given"
  run wharf_admin builds --project shop --service api
  assert_output "[]"
}

@test "an archive that does not match the action's pin is refused, and nothing is registered" {
  sed -i "s/^[0-9a-f]\{64\}  wharf-action-/$(printf '%064d' 0)  wharf-action-/" \
    "$CHECKOUT/install/checksums.txt"
  with_inputs control-plane-url="$WHARF_TEST_URL" username=ci-bot token="$TOKEN" \
    project=shop service=api image=ghcr.io/acme/shop-api:2.0.0 version="$FIXTURE_VERSION"
  run_action
  assert_failure 1
  assert_output --partial "::error title=wharf install::wharf-action-$FIXTURE_VERSION-$FIXTURE_TARGET.tar.gz has SHA-256"
  assert_output --partial "run-composite: step 'Install wharf-action' failed with 1"
  run wharf_admin builds --project shop --service api
  assert_output "[]"
}

@test "a version the action does not pin is refused before anything is downloaded" {
  with_inputs control-plane-url="$WHARF_TEST_URL" username=ci-bot token="$TOKEN" \
    project=shop service=api image=ghcr.io/acme/shop-api:2.0.0 version=v9.9.9
  run_action
  assert_failure 1
  assert_output --partial "wharf-action-v9.9.9-$FIXTURE_TARGET.tar.gz is not pinned in the checksums file"
  assert_equal "$(release_downloads "/v9.9.9/wharf-action-v9.9.9-$FIXTURE_TARGET.tar.gz")" 0
}

@test "version: source builds wharf-action from the action's own checkout" {
  local built=$RUNNER_TOOL_CACHE/wharf/source-build/release
  stub cargo "build --release --locked --quiet --package wharf-github-action --manifest-path $CHECKOUT/action/../Cargo.toml --target-dir $RUNNER_TOOL_CACHE/wharf/source-build : mkdir -p $built && cp '$WHARF_ACTION_BUILT' $built/"
  with_inputs control-plane-url="$WHARF_TEST_URL" username=ci-bot token="$TOKEN" \
    project=shop service=api image=ghcr.io/acme/shop-api:2.0.0 version=source
  run_action
  unstub cargo
  assert_success
  assert_output --partial "installed wharf-action (built from source)"
  run jq -r '.["routed-to"]' "$BATS_TEST_TMPDIR/outputs.json"
  assert_output dev
}
