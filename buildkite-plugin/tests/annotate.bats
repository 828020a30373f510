#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2030,SC2031 # literal Markdown backticks; each @test is a subshell
# The annotation: one per service, its style set by the outcome.

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

@test "a routed build gets a success annotation saying where it went" {
  stub_wharf_answering routed
  mapfile -t metadata < <(any_metadata 3)
  stub buildkite-agent "$(expect_annotation success wharf-api)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$(annotation_file)")" '#### wharf: `api` routed to `dev`
Registered `registry.example.com/shop/api:1.4.2` in project `shop`.

- Routed to: **dev** by rule `shop-branches`
- Artifact id: `01a20a66090c7690bc860088cf32f9c8`
- External id: `0190b5a8-1b2c-4d5e-8f90-123456789abc`
- Control plane: https://cp.example.com'
  unstub wharf
  unstub buildkite-agent
}

@test "an unclassified build gets a warning annotation" {
  stub_wharf_answering unrouted
  mapfile -t metadata < <(any_metadata 2)
  stub buildkite-agent "$(expect_annotation warning wharf-api)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(head -1 "$(annotation_file)")" '#### wharf: `api` registered unclassified'
  assert grep -qF -e '- Routed to: nowhere. No routing rule matched GIT_REF `feature/login`' "$(annotation_file)"
  unstub wharf
  unstub buildkite-agent
}

@test "a pushed build's annotation names the source, the copy and its digest" {
  configure '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2", "push": true}'
  stub_wharf_answering pushed
  mapfile -t metadata < <(any_metadata 4)
  stub buildkite-agent "$(expect_annotation success wharf-api)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  run cat "$(annotation_file)"
  assert_line 'Pushed `registry.example.com/shop/api:1.4.2` and registered the copy `cp.example.com/shop/api@sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4` in project `shop`.'
  assert_line '- Digest: `sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4`'
  assert_line '- Copied: 1 blob(s) uploaded (120 bytes), 1 already there, 0 mounted'
  unstub wharf
  unstub buildkite-agent
}

@test "a replayed registration says nothing new was written" {
  stub_wharf_answering replayed
  mapfile -t metadata < <(any_metadata 3)
  stub buildkite-agent "$(expect_annotation success wharf-api)" "${metadata[@]}"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(tail -1 "$(annotation_file)")" "- Already registered by an earlier run of this build: nothing new was written."
  unstub wharf
  unstub buildkite-agent
}

@test "a dry run gets an info annotation with the predicted route" {
  configure '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2", "dry-run": true}'
  stub_wharf_answering dry-run
  stub buildkite-agent "$(expect_annotation info wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert_equal "$(cat "$(annotation_file)")" '#### wharf: dry run for `api`
Would register `registry.example.com/shop/api:1.4.2` in project `shop`; probably routed to **dev** (rule `shop-branches`).
Nothing was written.'
  unstub wharf
  unstub buildkite-agent
}

@test "a dry run by ci-name names the CI integration, and an unrouted one says so" {
  configure '{"project": "shop", "ci-name": "web", "image": "registry.example.com/shop/web:2", "dry-run": true}'
  jq '.request.applicationName = null | .predictedRoute = null | .predictedRule = null' \
    "$(contract_answer dry-run)" >"$BATS_TEST_TMPDIR/dry-run.json"
  stub_wharf 0 "$BATS_TEST_TMPDIR/dry-run.json"
  stub buildkite-agent "$(expect_annotation info wharf-web)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  run cat "$(annotation_file)"
  assert_line '#### wharf: dry run for `web`'
  assert_line --partial 'probably unclassified: no routing rule matches.'
  unstub wharf
  unstub buildkite-agent
}

@test "a failure gets an error annotation with wharf's message, in the plugin's terms, and exit code" {
  stub_wharf_answering error
  stub buildkite-agent "$(expect_annotation error wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  assert_equal "$(cat "$(annotation_file)")" '#### wharf: registering `api` failed (exit 2)
```
'"'git-ref' and 'environment' were both given: use only one of 'git-ref', 'environment', 'release-stream'"'
```'
  unstub wharf
  unstub buildkite-agent
}

@test "a failure without a JSON report points to the job log" {
  stub_wharf 7
  stub buildkite-agent "$(expect_annotation error wharf-api)"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 7
  assert_equal "$(cat "$(annotation_file)")" '#### wharf: registering `api` failed (exit 7)
wharf printed no error report; see the job log.'
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
