#!/usr/bin/env bats
# Build meta-data for later steps: the artifact id, image, route and (when pushed) digest.

load helpers

setup() {
  plugin_setup
}

@test "a routed build sets its artifact id, image and environment" {
  stub_wharf_answering routed
  stub buildkite-agent \
    "annotate * : true" \
    "$(expect_metadata wharf-artifact-id-api 01a20a66090c7690bc860088cf32f9c8)" \
    "$(expect_metadata wharf-image-api registry.example.com/shop/api:1.4.2)" \
    "$(expect_metadata wharf-routed-to-api dev)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  unstub wharf
  unstub buildkite-agent
}

@test "a pushed build also sets its digest, and the image is the copy" {
  configure '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2", "push": true}'
  stub_wharf_answering pushed
  stub buildkite-agent \
    "annotate * : true" \
    "$(expect_metadata wharf-artifact-id-api 01a20a692532761a8626cb2c849edc77)" \
    "$(expect_metadata wharf-image-api cp.example.com/shop/api@sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4)" \
    "$(expect_metadata wharf-routed-to-api dev)" \
    "$(expect_metadata wharf-digest-api sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  assert grep -qx -e --push "$BATS_TEST_TMPDIR/wharf.argv"
  unstub wharf
  unstub buildkite-agent
}

@test "an unclassified build sets no environment" {
  stub_wharf_answering unrouted
  stub buildkite-agent \
    "annotate * : true" \
    "$(expect_metadata wharf-artifact-id-api 01a20a6609bc71e685b58f798dce5c7b)" \
    "$(expect_metadata wharf-image-api registry.example.com/shop/api:1.4.2)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  unstub wharf
  unstub buildkite-agent
}

@test "meta-data keys carry the ci-name when there is no service" {
  configure '{"project": "shop", "ci-name": "web", "image": "registry.example.com/shop/api:1.4.2"}'
  stub_wharf_answering routed
  stub buildkite-agent \
    "annotate * : true" \
    "$(expect_metadata wharf-artifact-id-web 01a20a66090c7690bc860088cf32f9c8)" \
    "$(expect_metadata wharf-image-web registry.example.com/shop/api:1.4.2)" \
    "$(expect_metadata wharf-routed-to-web dev)"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  unstub wharf
  unstub buildkite-agent
}

@test "a dry run sets no meta-data" {
  configure '{"project": "shop", "service": "api", "image": "registry.example.com/shop/api:1.4.2", "dry-run": true}'
  stub_wharf_answering dry-run
  stub buildkite-agent "annotate * : true"

  run "$PLUGIN_DIR/hooks/command"

  assert_success
  unstub wharf
  unstub buildkite-agent
}

@test "a failed registration sets no meta-data" {
  stub_wharf_answering error
  stub buildkite-agent "annotate * : true"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 2
  unstub wharf
  unstub buildkite-agent
}

@test "meta-data the agent refuses fails the step: later steps depend on it" {
  stub_wharf_answering routed
  stub buildkite-agent "annotate * : true" "meta-data set * * : exit 1"

  run "$PLUGIN_DIR/hooks/command"

  assert_failure 1
  assert_output --partial "wharf plugin: could not set the build meta-data wharf-artifact-id-api"
  unstub wharf
  unstub buildkite-agent
}
