#!/usr/bin/env bats
# The orb's `install` command, run as a CircleCI agent would (helpers/circleci_sim.py), through
# the installer it shares with the action and the Buildkite plugin, from a fixture release
# (made by scripts/dist) served on loopback and pinned in the packed orb.
# shellcheck disable=SC2016,SC2088 # parameters hold a literal ~ and ${…} for the step to expand

load test_helper
load "$REPO_ROOT/tests/adapters/release.bash"

setup_file() {
  serve_fixture_and_a_flipped_copy "$BATS_FILE_TMPDIR/served"
  ORB_YML=$BATS_FILE_TMPDIR/orb.yml
  pack_orb_pinning_fixture "$ORB_YML"
  export ORB_YML
}

teardown_file() {
  stop_releases
}

setup() {
  use_private_stubs
  circleci_env
  export HOME=$BATS_TEST_TMPDIR/home WHARF_INSTALL_TARGET=$FIXTURE_TARGET
  ARCHIVE=wharf-$FIXTURE_VERSION-$FIXTURE_TARGET.tar.gz
}

# install PARAM=VALUE…: the orb's install command, with CircleCI's cache kept in the test's
# directory.
install() {
  local params=() param
  for param in "$@"; do params+=(--param "$param"); done
  run "$WHARF_CI_PYTHON" "$ORB_DIR/tests/helpers/circleci_sim.py" "$ORB_YML" \
    --command install --cache "$BATS_TEST_TMPDIR/circleci-cache" "${params[@]}"
}

@test "installs the pinned release, puts it on PATH and caches the verified archive" {
  install version="$FIXTURE_VERSION" base-url="$RELEASES_URL/good"
  assert_success
  assert_line "wharf install: installed wharf $FIXTURE_VERSION ($FIXTURE_TARGET, SHA-256 verified) in $HOME/bin"
  assert_line --regexp "^wharf ${FIXTURE_VERSION#v} \(commit "
  assert_line "==> save_cache: wharf-arch1-linux-$(uname -m)-$FIXTURE_VERSION"
  # shellcheck disable=SC1090
  source "$BASH_ENV"
  assert_equal "$(command -v wharf)" "$HOME/bin/wharf"
}

@test "the next job restores the cache, checks it and downloads nothing" {
  install version="$FIXTURE_VERSION" base-url="$RELEASES_URL/good"
  assert_success
  local downloads
  downloads=$(release_downloads "/good/$FIXTURE_VERSION/$ARCHIVE")
  rm -rf "$HOME"
  : >"$BASH_ENV"
  install version="$FIXTURE_VERSION" install-dir='~/tools' base-url="$RELEASES_URL/good"
  assert_success
  assert_line "==> restore_cache: wharf-arch1-linux-$(uname -m)-$FIXTURE_VERSION"
  assert_line "wharf install: using the cached $ARCHIVE ($HOME/.cache/wharf)"
  assert [ -x "$HOME/tools/wharf" ]
  assert_equal "$(release_downloads "/good/$FIXTURE_VERSION/$ARCHIVE")" "$downloads"
}

@test "a release with one byte flipped installs nothing and fails the step" {
  install version="$FIXTURE_VERSION" base-url="$RELEASES_URL/flipped"
  assert_failure 1
  assert_line --regexp "^wharf install: $ARCHIVE has SHA-256 [0-9a-f]{64}, but the pins say [0-9a-f]{64}: refusing it, nothing was installed$"
  assert [ ! -e "$HOME/bin/wharf" ]
  assert_equal "$(cat "$BASH_ENV")" ""
}

@test "a version the orb does not pin is refused" {
  install version=v9.9.9 base-url="$RELEASES_URL/good"
  assert_failure 1
  assert_line "wharf install: wharf-v9.9.9-$FIXTURE_TARGET.tar.gz is not pinned in the checksums file: no wharf release is pinned yet (or not this version); build it from source instead (version: source), or use a version this adapter's release pins"
  install version=latest
  assert_failure 1
  assert_line --partial "wharf install: version 'latest' is not a pinned release"
}

@test "version source builds the orb's own release tag with cargo" {
  local root=$HOME/.cache/wharf/source
  stub cargo "install --locked --quiet --root $root --git https://github.com/wharf-dev/wharf --tag $FIXTURE_VERSION wharf : mkdir -p $root/bin && printf '#!/bin/sh\necho wharf built\n' >$root/bin/wharf && chmod +x $root/bin/wharf"
  install version=source
  assert_success
  assert_line "wharf install: installed wharf (built from source) in $HOME/bin"
  assert_line "wharf built"
  unstub cargo
}
