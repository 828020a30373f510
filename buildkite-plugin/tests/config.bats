#!/usr/bin/env bats
# How the plugin's options become wharf's command line.

load helpers

setup() {
  plugin_setup
  load_plugin_libs
}

args_for() {
  configure "$1"
  load_config
  build_wharf_args /tmp/report.md
  printf '%s\n' "${WHARF_ARGS[@]}"
}

@test "the required options map to a JSON register call" {
  run args_for '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2"}'

  assert_success
  assert_output "--output
json
register
--summary-file=/tmp/report.md
--project=shop
--service=api
--image=registry.example.com/shop/api:1.4.2"
}

@test "every option maps to its wharf flag, the control plane before the command" {
  run args_for '{
    "control-plane-url": "https://cp.example.com", "username": "ci-bot", "token-env": "SHOP_TOKEN",
    "project": "shop", "ci-name": "api-ci", "image": "registry.example.com/shop/api:1.4.2",
    "release-stream": "QA", "registry": "ecr", "external-id": "build-42",
    "description": "nightly build, see #12", "push": true, "tag": "1.4", "platform": "linux/arm64",
    "require-route": true, "dry-run": true, "wharf-path": "/opt/wharf/bin/wharf",
    "skip-without-credentials": true}'

  assert_success
  assert_output "--output
json
--control-plane=https://cp.example.com
register
--summary-file=/tmp/report.md
--project=shop
--ci-name=api-ci
--image=registry.example.com/shop/api:1.4.2
--release-stream=QA
--registry=ecr
--external-id=build-42
--description=nightly build, see #12
--tag=1.4
--platform=linux/arm64
--push
--require-route
--dry-run
--skip-without-credentials"
}

@test "git-ref and environment map to their flags" {
  run args_for '{"project": "shop", "service": "api", "image": "i:1", "git-ref": "release/5.0"}'
  assert_success
  assert_line -- "--git-ref=release/5.0"

  run args_for '{"project": "shop", "service": "api", "image": "i:1", "environment": "staging"}'
  assert_success
  assert_line -- "--environment=staging"
  refute_line --partial -- "--git-ref"
}

@test "a value starting with a dash stays a value" {
  run args_for '{"project": "shop", "service": "api", "image": "i:1", "description": "--dry-run"}'

  assert_success
  assert_line -- "--description=--dry-run"
  refute_line -- "--dry-run"
}

@test "false switches and empty values are left out" {
  run args_for '{"project": "shop", "service": "api", "image": "i:1", "push": false,
    "require-route": false, "dry-run": false, "git-ref": "", "external-id": ""}'

  assert_success
  assert_output "--output
json
register
--summary-file=/tmp/report.md
--project=shop
--service=api
--image=i:1"
}

@test "the username goes to wharf as WHARF_USERNAME, not on its command line" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "username": "ci-bot"}'
  stub_wharf_answering routed
  stub buildkite-agent "annotate * : true" "meta-data set * : true" "meta-data set * : true" "meta-data set * : true"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.username")" "ci-bot"
  refute grep -q ci-bot "$BATS_TEST_TMPDIR/wharf.argv"
  unstub wharf
  unstub buildkite-agent
}

@test "annotation context and meta-data keys use ci-name when there is no service" {
  configure '{"project": "shop", "ci-name": "api-ci", "image": "i:1"}'
  load_config

  run service_name

  assert_output "api-ci"
}

@test "wharf-path names the binary to run instead of installing one" {
  printf '#!/bin/sh\n' >"$BATS_TEST_TMPDIR/my-wharf"
  chmod +x "$BATS_TEST_TMPDIR/my-wharf"
  configure "{\"project\": \"shop\", \"service\": \"api\", \"image\": \"i:1\", \"wharf-path\": \"$BATS_TEST_TMPDIR/my-wharf\"}"
  load_config

  run wharf_binary

  assert_success
  assert_output "$BATS_TEST_TMPDIR/my-wharf"
}

@test "the hook runs the binary wharf-path names" {
  stub_wharf_answering routed
  mkdir "$BATS_TEST_TMPDIR/opt"
  mv "$BATS_MOCK_BINDIR/wharf" "$BATS_TEST_TMPDIR/opt/wharf"
  configure "{\"project\": \"shop\", \"service\": \"api\", \"image\": \"i:1\", \"wharf-path\": \"$BATS_TEST_TMPDIR/opt/wharf\"}"
  stub buildkite-agent "annotate * : true" "meta-data set * : true" "meta-data set * : true" "meta-data set * : true"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_output --partial "Running: $BATS_TEST_TMPDIR/opt/wharf --output json register"
  assert [ -f "$BATS_TEST_TMPDIR/wharf.argv" ]
  unstub buildkite-agent
}

@test "service and ci-name together both reach wharf, which decides" {
  run args_for '{"project": "shop", "service": "api", "ci-name": "api-ci", "image": "i:1"}'

  assert_success
  assert_line -- "--service=api"
  assert_line -- "--ci-name=api-ci"
}

@test "wharf is told the plugin's names for its flags and variables" {
  configure '{"project": "shop", "service": "api", "image": "i:1"}'
  load_config

  run option_names

  assert_output --partial "git-ref,"
  assert_output --partial "control-plane=control-plane-url,"
  refute_output --partial "WHARF_TOKEN="

  configure '{"project": "shop", "service": "api", "image": "i:1", "token-env": "SHOP_TOKEN"}'
  run option_names
  assert_output --partial ",WHARF_TOKEN=SHOP_TOKEN"
}

@test "wharf words its messages in the plugin's option names" {
  configure '{"project": "shop", "service": "api", "image": "i:1"}'
  load_config

  WHARF_OPTION_NAMES=$(option_names)
  export WHARF_OPTION_NAMES WHARF_USERNAME=ci
  run "$WHARF_BIN" --control-plane https://cp.example.com register --project shop --service api --image i:1 --git-ref main --environment staging

  assert_failure 2
  assert_output "error: 'git-ref' and 'environment' were both given: use only one of 'git-ref', 'environment', 'release-stream'"
}
