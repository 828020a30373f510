#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each @test is a subshell
# The annotation: one per service, its text wharf's own Markdown report (--summary-file), its
# style set by the outcome.

load helpers

setup() {
  plugin_setup
}

# Meta-data calls are metadata.bats' business: accept them here.
any_metadata() {
  local calls=() i
  for ((i = 0; i < $1; i++)); do calls+=("meta-data set * * : true"); done
  printf '%s\n' "${calls[@]}"
}

# assert_annotation_is CASE: the annotation is wharf's report of the case, as wharf wrote it.
assert_annotation_is() {
  assert_equal "$(cat "$(annotation_file)")" "$(cat "$(contract_report "$1")")"
}

@test "a routed build gets a success annotation: wharf's report, as wharf wrote it" {
  stub_wharf_answering routed
  mapfile -t metadata < <(any_metadata 3)
  stub buildkite-agent "$(expect_annotation success wharf-api)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_annotation_is routed
  assert_line '### wharf: shop/api registered'
  assert_equal "$(grep -c '^--summary-file=' "$BATS_TEST_TMPDIR/wharf.argv")" 1
  unstub wharf
  unstub buildkite-agent
}

@test "an unclassified build gets a warning annotation" {
  stub_wharf_answering unrouted
  mapfile -t metadata < <(any_metadata 2)
  stub buildkite-agent "$(expect_annotation warning wharf-api)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_annotation_is unrouted
  unstub wharf
  unstub buildkite-agent
}

@test "a pushed build's annotation is wharf's report of the push" {
  configure '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2", "push": true}'
  stub_wharf_answering pushed
  mapfile -t metadata < <(any_metadata 4)
  stub buildkite-agent "$(expect_annotation success wharf-api)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_annotation_is pushed
  unstub wharf
  unstub buildkite-agent
}

@test "a dry run gets an info annotation and sets no meta-data" {
  configure '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2", "dry-run": true}'
  stub_wharf_answering dry-run
  stub buildkite-agent "$(expect_annotation info wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_annotation_is dry-run
  unstub wharf
  unstub buildkite-agent
}

@test "a skipped registration gets a warning annotation and sets no meta-data" {
  stub_wharf_answering skipped
  stub buildkite-agent "$(expect_annotation warning wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_annotation_is skipped
  unstub wharf
  unstub buildkite-agent
}

@test "a failure gets an error annotation with wharf's report, and wharf's exit code" {
  stub_wharf_answering error
  stub buildkite-agent "$(expect_annotation error wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_annotation_is error
  assert_line "wharf plugin: wharf failed with exit code 2"
  unstub wharf
  unstub buildkite-agent
}

@test "a wharf that wrote no report points to the job log" {
  stub_wharf 7 /dev/null ""
  stub buildkite-agent "$(expect_annotation error wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 7
  assert_equal "$(cat "$(annotation_file)")" 'wharf exited with code 7 and wrote no report; see the job log.'
  unstub wharf
  unstub buildkite-agent
}

@test "each service has its own annotation context" {
  configure '{"project": "shop", "ci-name": "web", "image": "registry.example.com/shop/web:2"}'
  stub_wharf_answering routed
  mapfile -t metadata < <(any_metadata 3)
  stub buildkite-agent "$(expect_annotation success wharf-web)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  unstub wharf
  unstub buildkite-agent
}

@test "an annotation the agent refuses does not fail the step" {
  stub_wharf_answering routed
  mapfile -t metadata < <(any_metadata 3)
  stub buildkite-agent "annotate * : exit 1" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_output --partial "wharf plugin: warning: could not annotate the build"
  unstub wharf
  unstub buildkite-agent
}
