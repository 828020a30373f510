#!/usr/bin/env bats
# shellcheck disable=SC2030,SC2031 # each @test is a subshell: its exports are its own
# The plugin as Buildkite runs it: the job's environment as the agent sets it, the hook, the
# wharf it installs through the shared installer from a fixture release (made by scripts/dist,
# served on loopback, pinned in the plugin's checksums.txt), and a real `wharf serve`. Only
# buildkite-agent (the CI's own tool) is a stub; it records what it was asked to do.

load helpers
load "$REPO_ROOT/tests/adapters/control-plane.bash"
load "$REPO_ROOT/tests/adapters/oci-layout.bash"
load "$REPO_ROOT/tests/adapters/release.bash"

setup_file() {
  start_control_plane
  CI_BOT_TOKEN=$(ci_bot_token)
  make_fixture_release "$BATS_FILE_TMPDIR/releases"
  serve_releases "$BATS_FILE_TMPDIR/releases"
  # The plugin as its release repository holds it (links resolved), pinning the fixture.
  cp -rL "$PLUGIN_DIR" "$BATS_FILE_TMPDIR/plugin"
  fixture_pins "$BATS_FILE_TMPDIR/plugin/checksums.txt"
  HOOK=$BATS_FILE_TMPDIR/plugin/hooks/command
  export CI_BOT_TOKEN HOOK
}

teardown_file() {
  stop_releases
  stop_control_plane
}

setup() {
  plugin_setup
  unset WHARF_TOKEN
  cd "$BATS_TEST_TMPDIR" || return 1
  buildkite_job_environment
  # A long-lived agent: one cache for the whole file.
  export WHARF_INSTALL_RELEASES=$RELEASES_URL WHARF_INSTALL_TARGET=$FIXTURE_TARGET
  export WHARF_INSTALL_CACHE=$BATS_FILE_TMPDIR/agent-cache
}

# The variables the agent sets for a job of a branch build of pipeline `shop`.
buildkite_job_environment() {
  export BUILDKITE=true CI=true BUILDKITE_AGENT_NAME=agent-1 BUILDKITE_ORGANIZATION_SLUG=acme
  export BUILDKITE_PIPELINE_SLUG=shop BUILDKITE_REPO=git@github.com:acme/shop.git
  export BUILDKITE_BRANCH=main BUILDKITE_TAG="" BUILDKITE_PULL_REQUEST=false
  export BUILDKITE_PULL_REQUEST_BASE_BRANCH="" BUILDKITE_RETRY_COUNT=0
  export BUILDKITE_COMMIT=4f2c9a1e8b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a
  BUILDKITE_BUILD_ID=$(cat /proc/sys/kernel/random/uuid)
  BUILDKITE_JOB_ID=$(cat /proc/sys/kernel/random/uuid)
  export BUILDKITE_BUILD_ID BUILDKITE_JOB_ID BUILDKITE_BUILD_NUMBER=$((RANDOM + 1000))
  export BUILDKITE_BUILD_URL="https://buildkite.com/acme/shop/builds/$BUILDKITE_BUILD_NUMBER"
  export BUILDKITE_AGENT_ACCESS_TOKEN=agent-token-not-for-wharf
}

# plugin_configuration JSON: the plugin's step configuration, as the agent hands it to the hook:
# whole, as JSON, and flattened into BUILDKITE_PLUGIN_WHARF_<OPTION>.
plugin_configuration() {
  clear_plugin_configuration
  export BUILDKITE_PLUGIN_NAME=WHARF BUILDKITE_PLUGIN_CONFIGURATION=$1
  local name value
  while IFS=$'\t' read -r name value; do
    export "BUILDKITE_PLUGIN_WHARF_$name=$value"
  done < <(jq -r 'to_entries[] | [(.key | ascii_upcase | gsub("-"; "_")), (.value | tostring)] | @tsv' <<<"$1")
}

# stub_agent CALL…: buildkite-agent stubbed with these planned calls; each records its argv to
# agent.argv, an annotation's body to annotation.md and a meta-data value to meta-data/KEY.
stub_agent() {
  local dir=$BATS_TEST_TMPDIR record calls=() call
  mkdir -p "$dir/meta-data"
  record="printf '%s\n' \"\$*\" >>'$dir/agent.argv'"
  for call in "$@"; do
    case $call in
      annotate*) calls+=("$call : $record; cat >'$dir/annotation.md'") ;;
      meta-data*) calls+=("$call : $record; printf '%s' \"\$4\" >'$dir/meta-data/'\"\$3\"") ;;
    esac
  done
  stub buildkite-agent "${calls[@]}"
}

metadata() {
  cat "$BATS_TEST_TMPDIR/meta-data/$1"
}

# The control plane's records of this build (by external id), as a JSON array.
recorded_builds() {
  local builds
  builds=$(wharf_admin builds --project shop --service "${1:-api}") || return 1
  jq --arg id "$BUILDKITE_BUILD_ID" '[.[] | select(.externalId == $id)]' <<<"$builds"
}

# The one record of this build.
recorded_build() {
  local builds
  builds=$(recorded_builds "$@") || return 1
  assert_equal "$(jq length <<<"$builds")" 1
  jq '.[0]' <<<"$builds"
}

refute_recorded() {
  local builds
  builds=$(recorded_builds api) || return 1
  assert_equal "$builds" "[]"
}

refute_token_leaked() {
  refute_output --partial "$CI_BOT_TOKEN"
  refute grep -rqF "$CI_BOT_TOKEN" "$BATS_TEST_TMPDIR/agent.argv" "$BATS_TEST_TMPDIR/annotation.md" "$BATS_TEST_TMPDIR/meta-data"
}

@test "a main build is registered, routed to dev, with the Buildkite build id as external id" {
  export SHOP_WHARF_TOKEN=$CI_BOT_TOKEN
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"token-env\": \"SHOP_WHARF_TOKEN\", \"project\": \"shop\", \"service\": \"api\",
    \"image\": \"registry.example.com/shop/api:$BUILDKITE_BUILD_NUMBER\"}"
  stub_agent "annotate --style success --context wharf-api" \
    "meta-data set wharf-artifact-id-api *" \
    "meta-data set wharf-image-api registry.example.com/shop/api:$BUILDKITE_BUILD_NUMBER" \
    "meta-data set wharf-routed-to-api dev"

  run "$HOOK"

  assert_success
  unstub buildkite-agent
  run recorded_build
  assert_success
  local build=$output
  assert_equal "$(jq -r .routedTo <<<"$build")" dev
  assert_equal "$(jq -r .appliedRuleName <<<"$build")" shop-branches
  assert_equal "$(jq -r .artifactUri <<<"$build")" "registry.example.com/shop/api:$BUILDKITE_BUILD_NUMBER"
  assert_equal "$(jq -r .createdBy <<<"$build")" ci-bot
  assert_equal "$(jq -r .metadata.BRANCH_NAME <<<"$build")" main
  assert_equal "$(jq -r .metadata.COMMIT_SHA <<<"$build")" "$BUILDKITE_COMMIT"
  assert_equal "$(jq -r .metadata.BUILD_URL <<<"$build")" "$BUILDKITE_BUILD_URL"
  assert_equal "$(jq -r .metadata.CI_PROVIDER <<<"$build")" buildkite
  assert_equal "$(metadata wharf-artifact-id-api)" "$(jq -r .artifactId <<<"$build")"
  assert grep -qxF -e "| Artifact id | \`$(jq -r .artifactId <<<"$build")\` |" "$BATS_TEST_TMPDIR/annotation.md"
  refute_token_leaked
}

@test "a file instead of an image is uploaded and registered as a freestyle build" {
  export SHOP_WHARF_TOKEN=$CI_BOT_TOKEN
  printf 'PK a web archive %s' "$BUILDKITE_BUILD_NUMBER" >app.war
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"token-env\": \"SHOP_WHARF_TOKEN\", \"project\": \"shop\", \"service\": \"api\",
    \"file\": \"app.war\"}"
  stub_agent "annotate --style success --context wharf-api" \
    "meta-data set wharf-artifact-id-api *" \
    "meta-data set wharf-image-api *" \
    "meta-data set wharf-routed-to-api dev"

  run "$HOOK"

  assert_success
  unstub buildkite-agent
  run recorded_build
  assert_success
  local build=$output
  assert_equal "$(jq -r .routedTo <<<"$build")" dev
  assert_equal "$(jq -r .artifactUri <<<"$build")" "$(metadata wharf-image-api)"
  [[ $(metadata wharf-image-api) == */shop/api@sha256:* ]]
  refute_token_leaked
}

@test "a release branch pushes the image into the control plane's registry and records its digest" {
  export BUILDKITE_BRANCH=release/5.0 WHARF_TOKEN=$CI_BOT_TOKEN
  local digest
  digest=$(make_oci_layout "$BATS_TEST_TMPDIR/image" 5.0.1 "built by job $BUILDKITE_JOB_ID")
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"project\": \"shop\", \"service\": \"web\", \"image\": \"oci:$BATS_TEST_TMPDIR/image:5.0.1\",
    \"push\": true, \"tag\": \"5.0.1\"}"
  stub_agent "annotate --style success --context wharf-web" \
    "meta-data set wharf-artifact-id-web *" \
    "meta-data set wharf-image-web *" \
    "meta-data set wharf-routed-to-web staging" \
    "meta-data set wharf-digest-web $digest"

  run "$HOOK"

  assert_success
  unstub buildkite-agent
  run recorded_build web
  assert_success
  local build=$output
  assert_equal "$(jq -r .routedTo <<<"$build")" staging
  assert_equal "$(jq -r .artifactUri <<<"$build")" "${WHARF_TEST_URL#http://}/shop/web@$digest"
  assert_equal "$(metadata wharf-image-web)" "${WHARF_TEST_URL#http://}/shop/web@$digest"
  assert_equal "$(metadata wharf-artifact-id-web)" "$(jq -r .artifactId <<<"$build")"
  refute_token_leaked
}

@test "a retried job registers nothing new and reports the same artifact id" {
  export WHARF_TOKEN=$CI_BOT_TOKEN
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"project\": \"shop\", \"service\": \"api\", \"image\": \"registry.example.com/shop/api:retry\"}"
  local attempt
  for attempt in 0 1; do
    export BUILDKITE_RETRY_COUNT=$attempt
    stub_agent "annotate --style success --context wharf-api" "meta-data set wharf-artifact-id-api *" \
      "meta-data set wharf-image-api *" "meta-data set wharf-routed-to-api dev"
    run "$HOOK"
    assert_success
    unstub buildkite-agent
    cp "$BATS_TEST_TMPDIR/meta-data/wharf-artifact-id-api" "$BATS_TEST_TMPDIR/artifact-id-$attempt"
  done

  assert_equal "$(cat "$BATS_TEST_TMPDIR/artifact-id-1")" "$(cat "$BATS_TEST_TMPDIR/artifact-id-0")"
  assert grep -qF "already registered by an earlier attempt; nothing written" "$BATS_TEST_TMPDIR/annotation.md"
  run recorded_build
  assert_success
}

@test "require-route fails a feature branch with wharf's exit code 6 and registers nothing" {
  export BUILDKITE_BRANCH=feature/login WHARF_TOKEN=$CI_BOT_TOKEN
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"project\": \"shop\", \"service\": \"api\", \"image\": \"registry.example.com/shop/api:f1\",
    \"require-route\": true}"
  stub_agent "annotate --style error --context wharf-api"

  run "$HOOK"

  assert_failure 6
  unstub buildkite-agent
  assert grep -qF "GIT_REF 'feature/login' matches no routing rule of project 'shop'" "$BATS_TEST_TMPDIR/annotation.md"
  refute_recorded
}

@test "a wrong token fails with wharf's exit code 3 and is never printed" {
  export WHARF_TOKEN="wrong-token-$RANDOM$RANDOM"
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"project\": \"shop\", \"service\": \"api\", \"image\": \"registry.example.com/shop/api:bad\"}"
  stub_agent "annotate --style error --context wharf-api"

  run "$HOOK"

  assert_failure 3
  unstub buildkite-agent
  refute_output --partial "$WHARF_TOKEN"
  refute grep -qF "$WHARF_TOKEN" "$BATS_TEST_TMPDIR/annotation.md" "$BATS_TEST_TMPDIR/agent.argv"
  refute_recorded
}

@test "a pull request from a fork, without the secret, is skipped when asked" {
  export BUILDKITE_BRANCH=contributor:patch-1 BUILDKITE_PULL_REQUEST=42
  export BUILDKITE_PULL_REQUEST_BASE_BRANCH=main BUILDKITE_PULL_REQUEST_REPO=git@github.com:contributor/shop.git
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"project\": \"shop\", \"service\": \"api\", \"image\": \"registry.example.com/shop/api:pr42\",
    \"skip-without-credentials\": true}"
  stub_agent "annotate --style warning --context wharf-api"

  run "$HOOK"

  assert_success
  unstub buildkite-agent
  refute_recorded
}

@test "the plugin installs its own release, verified, once per agent" {
  export WHARF_TOKEN=$CI_BOT_TOKEN
  rm -rf "$WHARF_INSTALL_CACHE"
  local archive=/$FIXTURE_VERSION/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET.tar.gz downloads
  downloads=$(release_downloads "$archive")
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"project\": \"shop\", \"service\": \"api\", \"image\": \"registry.example.com/shop/api:1\", \"dry-run\": true}"
  stub_agent "annotate --style info --context wharf-api"

  run "$HOOK"

  assert_success
  unstub buildkite-agent
  assert_line "--- :package: wharf: installing wharf $FIXTURE_VERSION"
  assert_line "wharf install: installed wharf $FIXTURE_VERSION ($FIXTURE_TARGET, SHA-256 verified) in $WHARF_INSTALL_CACHE/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET"
  assert_line --partial "Running: $WHARF_INSTALL_CACHE/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET/wharf --output json"

  stub_agent "annotate --style info --context wharf-api"
  run "$HOOK"
  assert_success
  unstub buildkite-agent
  assert_line "wharf install: using the cached wharf-$FIXTURE_VERSION-$FIXTURE_TARGET.tar.gz ($WHARF_INSTALL_CACHE)"
  assert_equal "$(release_downloads "$archive")" "$((downloads + 1))"
}

@test "an archive that does not match the plugin's pin is refused, and nothing is registered" {
  export WHARF_TOKEN=$CI_BOT_TOKEN
  rm -rf "$WHARF_INSTALL_CACHE"
  cp -r "$BATS_FILE_TMPDIR/plugin" "$BATS_TEST_TMPDIR/plugin"
  sed -i "s/^[0-9a-f]\{64\}  wharf-v/$(printf '%064d' 0)  wharf-v/" "$BATS_TEST_TMPDIR/plugin/checksums.txt"
  plugin_configuration "{\"control-plane-url\": \"$WHARF_TEST_URL\", \"username\": \"ci-bot\",
    \"project\": \"shop\", \"service\": \"api\", \"image\": \"registry.example.com/shop/api:1\"}"

  run "$BATS_TEST_TMPDIR/plugin/hooks/command"

  assert_failure 1
  assert_line --regexp "^wharf install: wharf-$FIXTURE_VERSION-$FIXTURE_TARGET\.tar\.gz has SHA-256 [0-9a-f]{64}, but the pins say 0{64}: refusing it, nothing was installed$"
  refute_recorded
}
