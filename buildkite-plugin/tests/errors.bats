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

@test "no BUILDKITE_PLUGIN_CONFIGURATION: not run as a plugin" {
  unset BUILDKITE_PLUGIN_CONFIGURATION

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output "wharf plugin: BUILDKITE_PLUGIN_CONFIGURATION is not set: run this hook as a Buildkite plugin (- wharf-dev/wharf#v0.1.0: with project, service and image under it)"
}

@test "a configuration that is not a mapping" {
  configure 'null'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output --partial "the plugin's configuration must be a mapping of options"
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

@test "a text option that is not text" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "tag": 1.5, "push": true, "external-id": 42}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_output "wharf plugin: option(s) tag, external-id must be text: quote the value in pipeline.yml"
}

# wharf_refuses CASE [MESSAGE]: for a test that expects wharf's refusal: the planless stub made
# by setup is replaced by one answering the contract's error (see stub_wharf_answering), and the
# annotation is accepted.
wharf_refuses() {
  unstub wharf
  stub_wharf_answering "$@"
  stub buildkite-agent "$(expect_annotation error wharf-api)"
}

@test "git-ref, environment and release-stream: wharf's refusal, in the plugin's option names" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "git-ref": "main", "environment": "staging"}'
  wharf_refuses error

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line "wharf plugin: 'git-ref' and 'environment' were both given: use only one of 'git-ref', 'environment', 'release-stream'"
  assert grep -qx -e --git-ref=main "$BATS_TEST_TMPDIR/wharf.argv"
  assert grep -qx -e --environment=staging "$BATS_TEST_TMPDIR/wharf.argv"
  assert grep -qF "use only one of 'git-ref'" "$(annotation_file)"
  unstub buildkite-agent
}

@test "a missing option: wharf's message names the plugin's option" {
  configure '{"service": "api", "image": "i:1"}'
  wharf_refuses error "missing project: pass --project or set WHARF_PROJECT"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line "wharf plugin: missing project: set 'project'"
  refute grep -q -e --project "$BATS_TEST_TMPDIR/wharf.argv"
  unstub buildkite-agent
}

@test "tag or platform without push: wharf's message names the plugin's options" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "platform": "linux/arm64"}'
  wharf_refuses error "--platform only applies when pushing: add --push, or remove --platform"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_line "wharf plugin: 'platform' only applies when pushing: add 'push', or remove 'platform'"
  unstub buildkite-agent
}

@test "without wharf-path the plugin installs wharf, and refuses a version it does not pin" {
  configure '{"project": "shop", "service": "api", "image": "i:1", "version": "v9.9.9"}'

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 1
  assert_line "--- :package: wharf: installing wharf v9.9.9"
  assert_line --regexp "^wharf install: wharf-v9.9.9-[a-z0-9_]+-[a-z0-9_-]+\.tar\.gz is not pinned in the checksums file: use a version this adapter's release pins, or source$"
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
