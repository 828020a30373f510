#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031 # literal Markdown backticks; each @test is a subshell
# The token: from WHARF_TOKEN or the variable token-env names, to wharf's environment only.

load helpers

setup() {
  plugin_setup
}

stub_agent_for_registered() {
  stub buildkite-agent \
    "annotate --style success --context wharf-api : printf '%s\n' \"\$*\" >>'$BATS_TEST_TMPDIR/agent.argv'; cat >>'$BATS_TEST_TMPDIR/agent.stdin'" \
    "meta-data set * * : printf '%s\n' \"\$*\" >>'$BATS_TEST_TMPDIR/agent.argv'" \
    "meta-data set * * : printf '%s\n' \"\$*\" >>'$BATS_TEST_TMPDIR/agent.argv'" \
    "meta-data set * * : printf '%s\n' \"\$*\" >>'$BATS_TEST_TMPDIR/agent.argv'"
}

@test "WHARF_TOKEN reaches wharf through its environment, never its command line or the log" {
  stub_wharf_answering routed
  stub_agent_for_registered

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.token")" "$TEST_TOKEN"
  refute grep -qF "$TEST_TOKEN" "$BATS_TEST_TMPDIR/wharf.argv"
  refute grep -qF "$TEST_TOKEN" "$BATS_TEST_TMPDIR/agent.argv" "$BATS_TEST_TMPDIR/agent.stdin"
  refute_output --partial "$TEST_TOKEN"
  unstub wharf
  unstub buildkite-agent
}

@test "token-env names the variable that holds the token" {
  export SHOP_WHARF_TOKEN="shop-token-do-not-print-51c0"
  configure '{"project": "shop", "service": "api", "image": "i:1", "token-env": "SHOP_WHARF_TOKEN"}'
  stub_wharf_answering routed
  stub_agent_for_registered

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.token")" "$SHOP_WHARF_TOKEN"
  refute grep -qF "$SHOP_WHARF_TOKEN" "$BATS_TEST_TMPDIR/wharf.argv"
  refute_output --partial "$SHOP_WHARF_TOKEN"
  unstub wharf
  unstub buildkite-agent
}

# with_real_wharf CONFIGURATION: the step runs the real wharf (WHARF_BIN), against a control
# plane it never reaches: what is tested ends before anything is sent.
with_real_wharf() {
  configure "$(jq -c --arg wharf "$WHARF_BIN" '. + {"wharf-path": $wharf,
    "control-plane-url": "https://cp.example.com", "username": "ci"}' <<<"$1")"
}

@test "a missing WHARF_TOKEN: wharf refuses, naming WHARF_TOKEN, and no keyless login is tried" {
  unset WHARF_TOKEN
  with_real_wharf '{"project": "shop", "service": "api", "image": "i:1"}'
  stub buildkite-agent "$(expect_annotation error wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line --partial "error: missing token: set WHARF_TOKEN"
  assert grep -qF "missing token: set WHARF_TOKEN" "$(annotation_file)"
  unstub buildkite-agent
}

@test "an empty token-env variable: wharf's refusal names that variable" {
  export SHOP_WHARF_TOKEN=""
  with_real_wharf '{"project": "shop", "service": "api", "image": "i:1", "token-env": "SHOP_WHARF_TOKEN"}'
  stub buildkite-agent "$(expect_annotation error wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line --partial "error: missing token: set 'SHOP_WHARF_TOKEN'"
  unstub buildkite-agent
}

@test "skip-without-credentials: wharf skips, the build gets wharf's warning, no meta-data" {
  unset WHARF_TOKEN
  with_real_wharf '{"project": "shop", "service": "api", "image": "i:1", "skip-without-credentials": true}'
  stub buildkite-agent "$(expect_annotation warning wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_line --partial "warning: no token (WHARF_TOKEN is unset or empty) and no keyless login"
  # wharf's report of the skip, in the plugin's option names.
  assert_equal "$(cat "$(annotation_file)")" "$(sed "s/(--skip-without-credentials)/('skip-without-credentials')/" "$(contract_report skipped)")"
  unstub buildkite-agent
}

@test "skip-without-credentials changes nothing when the token is there" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "skip-without-credentials": true}'
  stub_wharf_answering routed
  stub_agent_for_registered

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.token")" "$TEST_TOKEN"
  unstub wharf
  unstub buildkite-agent
}

@test "a token written into the configuration is refused without being printed" {
  configure "{\"project\": \"shop\", \"service\": \"api\", \"image\": \"i:1\", \"token\": \"$TEST_TOKEN\"}"
  stub wharf

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output --partial "unknown option(s): token."
  assert_output --partial "The token never goes in pipeline.yml"
  refute_output --partial "$TEST_TOKEN"
  unstub wharf
}

@test "a token given as token-env is refused without being printed" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "token-env": "wt-7f3a9c/secret"}'
  stub wharf

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output --partial "token-env must be the NAME of an environment variable"
  refute_output --partial "wt-7f3a9c"
  unstub wharf
}

@test "keyless: without a token wharf runs with none, and oidc-audience reaches it" {
  unset WHARF_TOKEN
  configure '{"project": "shop", "service": "api", "image": "i:1", "keyless": true, "oidc-audience": "https://cp.example.com"}'
  stub_wharf_answering routed
  stub_agent_for_registered

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.keyless")" auto
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.token")" ""
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.audience")" "https://cp.example.com"
  unstub wharf
  unstub buildkite-agent
}

@test "without keyless, wharf is told never to log in keyless" {
  stub_wharf_answering routed
  stub_agent_for_registered

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.keyless")" off
  unstub wharf
  unstub buildkite-agent
}
