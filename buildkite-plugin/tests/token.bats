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

@test "a missing WHARF_TOKEN fails before wharf runs, naming WHARF_TOKEN and token-env" {
  unset WHARF_TOKEN
  stub wharf
  stub buildkite-agent

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output "wharf plugin: no token: WHARF_TOKEN is unset or empty. Provide it as an agent secret or from an environment hook, or name the variable that holds it with token-env"
  unstub wharf
  unstub buildkite-agent
}

@test "an empty token-env variable fails, naming the variable and token-env" {
  export SHOP_WHARF_TOKEN=""
  configure '{"project": "shop", "service": "api", "image": "i:1", "token-env": "SHOP_WHARF_TOKEN"}'
  stub wharf

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output --partial "no token: SHOP_WHARF_TOKEN (named by token-env) is unset or empty"
  unstub wharf
}

@test "skip-without-credentials warns, annotates and succeeds without running wharf" {
  unset WHARF_TOKEN
  configure '{"project": "shop", "service": "api", "image": "i:1", "skip-without-credentials": true}'
  stub wharf
  stub buildkite-agent "$(expect_annotation warning wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_output --partial "skipped registering api: WHARF_TOKEN is unset or empty"
  assert_equal "$(cat "$(annotation_file)")" '#### wharf: `api` not registered
`WHARF_TOKEN` is unset or empty and `skip-without-credentials` is on, so registration was skipped.
Builds of forks get no secrets; any other build should have the token: check the agent'"'"'s secrets.'
  unstub wharf
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
  assert_output --partial "no token in WHARF_TOKEN: logging in keyless"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.token")" ""
  assert_equal "$(cat "$BATS_TEST_TMPDIR/wharf.audience")" "https://cp.example.com"
  unstub wharf
  unstub buildkite-agent
}
