#!/usr/bin/env bats
# install.sh: a pinned release asset is verified before it is used; anything unpinned is built
# from source. curl and cargo are stubbed (bats-mock): no network here.

load helpers

setup() {
  runner_env
  export RUNNER_OS=Linux RUNNER_ARCH=X64
  export WHARF_ACTION_RELEASES=https://releases.example/download
  # A release asset: a tarball holding a fake wharf-action.
  mkdir -p "$BATS_TEST_TMPDIR/asset"
  printf '#!/bin/sh\necho fake wharf-action\n' >"$BATS_TEST_TMPDIR/asset/wharf-action"
  chmod +x "$BATS_TEST_TMPDIR/asset/wharf-action"
  ASSET="wharf-action-v1.2.3-x86_64-unknown-linux-musl.tar.gz"
  tar -czf "$BATS_TEST_TMPDIR/$ASSET" -C "$BATS_TEST_TMPDIR/asset" wharf-action
  # An action checkout whose checksums.txt the test controls.
  cp -r "$ACTION_DIR" "$BATS_TEST_TMPDIR/action"
  export WHARF_ACTION_PATH="$BATS_TEST_TMPDIR/action"
}

teardown() {
  unstub curl 2>/dev/null || true
  unstub cargo 2>/dev/null || true
}

pin() {
  echo "$1  $ASSET" >>"$WHARF_ACTION_PATH/checksums.txt"
}

serve_asset() {
  local saved_to="$RUNNER_TEMP/wharf-action/$ASSET"
  stub curl "--fail --silent --show-error --location --retry 3 --output $saved_to https://releases.example/download/v1.2.3/$ASSET : cp '$BATS_TEST_TMPDIR/$ASSET' '$saved_to'"
}

@test "a pinned release asset with the right checksum is installed" {
  pin "$(sha256sum "$BATS_TEST_TMPDIR/$ASSET" | cut -d' ' -f1)"
  serve_asset
  WHARF_ACTION_VERSION=v1.2.3 run "$ACTION_DIR/scripts/install.sh"
  assert_success
  assert_output --partial "wharf-action: $RUNNER_TEMP/wharf-action/bin/wharf-action"
  run cat "$GITHUB_OUTPUT"
  assert_output "path=$RUNNER_TEMP/wharf-action/bin/wharf-action"
  run "$RUNNER_TEMP/wharf-action/bin/wharf-action"
  assert_output "fake wharf-action"
}

@test "an asset whose checksum does not match is refused and removed" {
  pin "0000000000000000000000000000000000000000000000000000000000000000"
  serve_asset
  WHARF_ACTION_VERSION=v1.2.3 run "$ACTION_DIR/scripts/install.sh"
  assert_failure 2
  assert_output --partial "::error title=wharf: install::$ASSET has SHA-256"
  assert_output --partial "refusing to run it"
  [ ! -e "$RUNNER_TEMP/wharf-action/bin/wharf-action" ]
  [ ! -e "$RUNNER_TEMP/wharf-action/$ASSET" ]
  run cat "$GITHUB_OUTPUT"
  assert_output ""
}

@test "a version with no pinned asset is built from source" {
  stub cargo "build --release --locked --quiet --package wharf-github-action --manifest-path $WHARF_ACTION_PATH/../Cargo.toml --target-dir $RUNNER_TEMP/wharf-action/build : mkdir -p $RUNNER_TEMP/wharf-action/build/release && cp $BATS_TEST_TMPDIR/asset/wharf-action $RUNNER_TEMP/wharf-action/build/release/"
  WHARF_ACTION_VERSION=v1.2.3 run "$ACTION_DIR/scripts/install.sh"
  assert_success
  assert_output --partial "Building wharf-action from source (no pinned release asset $ASSET)"
  run cat "$GITHUB_OUTPUT"
  assert_output "path=$RUNNER_TEMP/wharf-action/build/release/wharf-action"
}

@test "version: source builds from source without downloading" {
  stub cargo "build * : mkdir -p $RUNNER_TEMP/wharf-action/build/release && cp $BATS_TEST_TMPDIR/asset/wharf-action $RUNNER_TEMP/wharf-action/build/release/"
  WHARF_ACTION_VERSION=source run "$ACTION_DIR/scripts/install.sh"
  assert_success
  assert_output --partial "(version: source)"
}

@test "an unsupported runner names the fix" {
  pin "$(sha256sum "$BATS_TEST_TMPDIR/$ASSET" | cut -d' ' -f1)"
  RUNNER_OS=Windows WHARF_ACTION_VERSION=v1.2.3 run "$ACTION_DIR/scripts/install.sh"
  assert_failure 2
  assert_output --partial "no wharf-action release for Windows/X64: set version: source"
}

@test "a malformed version is refused before anything is fetched" {
  WHARF_ACTION_VERSION='1.2.3; rm -rf /' run "$ACTION_DIR/scripts/install.sh"
  assert_failure 2
  assert_output --partial "is not a release like v0.1.0, nor source"
}
