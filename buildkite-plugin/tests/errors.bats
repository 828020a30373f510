#!/usr/bin/env bats
# What the plugin refuses itself fails with exit 2 before wharf runs; everything else is wharf's
# to refuse, and its message comes back in the plugin's option names with wharf's exit code.

load helpers

setup() {
  plugin_setup
  stub wharf
}

# Configuration errors must stop the plugin before wharf runs: the plan of no calls proves it.
teardown() {
  if [[ -L $BATS_MOCK_BINDIR/wharf ]]; then unstub wharf; fi
}

@test "an unknown option is named, with the valid ones" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "gitref": "main"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output --partial "unknown option(s): gitref. Valid options: control-plane-url, username, token-env, project,"
}

@test "a switch that is not a boolean" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "push": "yes"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output "wharf plugin: option(s) push must be true or false"
}

# real_wharf_refuses CONFIGURATION: the step runs the real wharf (WHARF_BIN), which refuses
# before it sends anything; the annotation is accepted.
real_wharf_refuses() {
  unstub wharf
  configure "$(jq -c --arg wharf "$WHARF_BIN" '. + {"wharf-path": $wharf,
    "control-plane-url": "https://cp.example.com", "username": "ci"}' <<<"$1")"
  stub buildkite-agent "$(expect_annotation error wharf-api)"
}

@test "git-ref, environment and release-stream: wharf's refusal, in the plugin's option names" {
  real_wharf_refuses '{"project": "shop", "service": "api", "image": "i:1", "git-ref": "main", "environment": "staging"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line "error: 'git-ref' and 'environment' were both given: use only one of 'git-ref', 'environment', 'release-stream'"
  assert grep -qF "use only one of 'git-ref'" "$(annotation_file)"
  unstub buildkite-agent
}

@test "a missing option: wharf's message names the plugin's option" {
  real_wharf_refuses '{"service": "api", "image": "i:1"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line "error: missing project: set 'project'"
  unstub buildkite-agent
}

@test "tag or platform without push: wharf's message names the plugin's options" {
  real_wharf_refuses '{"project": "shop", "service": "api", "image": "i:1", "platform": "linux/arm64"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line "error: 'platform' only applies when pushing: add 'push', or remove 'platform'"
  unstub buildkite-agent
}

@test "without wharf-path the plugin installs wharf, and refuses a version it does not pin" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "version": "v9.9.9"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 1
  assert_line "--- :package: wharf: installing wharf v9.9.9"
  assert_line --regexp "^wharf install: wharf-v9.9.9-[a-z0-9_]+-[a-z0-9_-]+\.tar\.gz is not pinned in the checksums file: no wharf release is pinned yet \\(or not this version\\); build it from source instead \\(version: source\\), or use a version this adapter's release pins$"
}

@test "a version that is no exact release is refused" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "version": "latest"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 1
  assert_line --partial "wharf install: version 'latest' is not a pinned release"
}

@test "wharf-path and version together" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "wharf-path": "/opt/wharf", "version": "v0.1.0"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output "wharf plugin: give wharf-path or version, not both: wharf-path runs a wharf already on the agent"
}

@test "a wharf-path that is not an executable file" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "wharf-path": "/nonexistent/wharf"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output "wharf plugin: wharf-path '/nonexistent/wharf' is not an executable file: fix wharf-path, or remove it to install wharf v0.1.0"
}

@test "wharf's exit code is the step's exit code" {
  unstub wharf
  local code
  for code in 3 4 5 7 8; do
    stub_wharf "$code"
    stub buildkite-agent "annotate --style error --context wharf-api : true"

    run "$PLUGIN_DIR/hooks/command"

    assert_failure "$code"
    assert_output --partial "wharf plugin: wharf failed with exit code $code"
    unstub wharf
    unstub buildkite-agent
  done
}

@test "a wharf that succeeds without a JSON outcome fails the step" {
  unstub wharf
  printf 'not json\n' >"$BATS_TEST_TMPDIR/garbage"
  stub_wharf 0 "$BATS_TEST_TMPDIR/garbage"
  stub buildkite-agent "annotate --style error --context wharf-api : true"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 1
  assert_output --partial "wharf plugin: wharf succeeded but printed no JSON outcome"
  unstub buildkite-agent
}
