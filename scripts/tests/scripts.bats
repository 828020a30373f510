#!/usr/bin/env bats
# The release scripts the workflow calls, run here as it runs them: scripts/dist (with
# --prebuilt stand-in binaries, so no release build is needed), scripts/check-dist,
# scripts/release-notes and scripts/pin.

bats_require_minimum_version 1.5.0

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
WHARF_CI_TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}

load "$WHARF_CI_TOOLS/bats-support/load.bash"
load "$WHARF_CI_TOOLS/bats-assert/load.bash"

setup_file() {
  VERSION=$(cargo metadata --format-version 1 --no-deps --offline \
    --manifest-path "$REPO_ROOT/Cargo.toml" | jq -r '.packages[] | select(.name == "wharf") | .version')
  HOST=$(rustc -vV | sed -n 's/^host: //p')
  COMMIT=$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD)
  export VERSION HOST COMMIT
}

# Stand-ins for the release binaries: each says what a stamped build says.
prebuilt() {
  local dir=$BATS_TEST_TMPDIR/prebuilt binary
  mkdir -p "$dir"
  for binary in wharf wharf-action; do
    printf '#!/bin/sh\necho "%s %s (commit %s)"\n' "$binary" "${2:-$VERSION}" "${1:-$COMMIT}" >"$dir/$binary"
    chmod +x "$dir/$binary"
  done
  echo "$dir"
}

@test "dist packs each binary (wharf with its completions and man page), with its .sha256 and a SHA256SUMS of both" {
  local out=$BATS_TEST_TMPDIR/dist
  run "$REPO_ROOT/scripts/dist" --prebuilt "$(prebuilt)" --out "$out"
  assert_success
  assert_output "$out/wharf-v$VERSION-$HOST.tar.gz
$out/wharf-action-v$VERSION-$HOST.tar.gz"
  run tar -tvzf "$out/wharf-v$VERSION-$HOST.tar.gz"
  assert_line --regexp "^-rwxr-xr-x 0/0 .* wharf$"
  assert_line --regexp "^-rw-r--r-- 0/0 .* completions/wharf.bash$"
  assert_line --regexp "^-rw-r--r-- 0/0 .* completions/wharf.zsh$"
  assert_line --regexp "^-rw-r--r-- 0/0 .* completions/wharf.fish$"
  assert_line --regexp "^-rw-r--r-- 0/0 .* man/wharf.1$"
  run tar -tvzf "$out/wharf-action-v$VERSION-$HOST.tar.gz"
  assert_output --regexp "^-rwxr-xr-x 0/0 .* wharf-action$"
  run cat "$out/SHA256SUMS"
  assert_output "$(cat "$out/wharf-action-v$VERSION-$HOST.tar.gz.sha256" "$out/wharf-v$VERSION-$HOST.tar.gz.sha256")"
  run "$REPO_ROOT/scripts/check-dist" "$out"
  assert_success
  assert_line "ok: wharf-v$VERSION-$HOST.tar.gz unpacks; wharf $VERSION (commit $COMMIT)"
}

@test "dist makes the same archive twice, and keeps other targets' lines in SHA256SUMS" {
  local out=$BATS_TEST_TMPDIR/dist first
  echo "$(printf '%064d' 0)  wharf-v$VERSION-other-target.tar.gz" >"$BATS_TEST_TMPDIR/other"
  mkdir -p "$out" && cp "$BATS_TEST_TMPDIR/other" "$out/SHA256SUMS"
  "$REPO_ROOT/scripts/dist" --prebuilt "$(prebuilt)" --out "$out" >/dev/null
  first=$(cat "$out/wharf-v$VERSION-$HOST.tar.gz.sha256")
  "$REPO_ROOT/scripts/dist" --prebuilt "$(prebuilt)" --out "$out" >/dev/null
  assert_equal "$(cat "$out/wharf-v$VERSION-$HOST.tar.gz.sha256")" "$first"
  run grep -c . "$out/SHA256SUMS"
  assert_output 3
  run grep -F "other-target" "$out/SHA256SUMS"
  assert_success
}

@test "dist refuses a tag that is not the workspace's version" {
  run "$REPO_ROOT/scripts/dist" --tag v9.9.9 --prebuilt "$(prebuilt)" --out "$BATS_TEST_TMPDIR/dist"
  assert_failure 1
  assert_output "dist: the tag v9.9.9 is not the workspace's version v$VERSION: bump Cargo.toml or tag v$VERSION"
}

@test "check-dist refuses an archive that does not match SHA256SUMS, or a binary from another commit" {
  local out=$BATS_TEST_TMPDIR/dist
  "$REPO_ROOT/scripts/dist" --prebuilt "$(prebuilt 000000000000)" --out "$out" >/dev/null
  run "$REPO_ROOT/scripts/check-dist" "$out"
  assert_failure 1
  assert_line "check-dist: wharf --version says 'wharf $VERSION (commit 000000000000)', expected 'wharf $VERSION (commit $COMMIT)'"
  "$REPO_ROOT/scripts/dist" --prebuilt "$(prebuilt)" --out "$out" >/dev/null
  printf 'x' >>"$out/wharf-action-v$VERSION-$HOST.tar.gz"
  run "$REPO_ROOT/scripts/check-dist" "$out"
  assert_failure 1
  assert_line "check-dist: an archive does not match SHA256SUMS"
}

@test "release-notes prints a version's section of the changelog, and fails without one" {
  cat >"$BATS_TEST_TMPDIR/CHANGELOG.md" <<'MD'
# Changelog

## [Unreleased]

## [1.2.0] - 2026-12-01

### Added

- Something new.

## [1.1.0] - 2026-11-01

- Older.

[1.2.0]: https://example.invalid/v1.2.0
MD
  run "$REPO_ROOT/scripts/release-notes" v1.2.0 "$BATS_TEST_TMPDIR/CHANGELOG.md"
  assert_success
  assert_output $'### Added\n\n- Something new.'
  run "$REPO_ROOT/scripts/release-notes" v1.3.0 "$BATS_TEST_TMPDIR/CHANGELOG.md"
  assert_failure 1
  run "$REPO_ROOT/scripts/release-notes" Unreleased
  assert_success
}

@test "pin adds a release's lines once, and never changes a pin" {
  local pins=$BATS_TEST_TMPDIR/checksums.txt sums=$BATS_TEST_TMPDIR/SHA256SUMS
  cp "$REPO_ROOT/install/checksums.txt" "$pins"
  printf '%s  wharf-v1.2.0-x86_64-unknown-linux-musl.tar.gz\n%s  wharf-action-v1.2.0-aarch64-apple-darwin.tar.gz\n' \
    "$(printf '%064d' 1)" "$(printf '%064d' 2)" >"$sums"
  run "$REPO_ROOT/scripts/pin" "$sums" "$pins"
  assert_success
  assert_output $'pinned wharf-v1.2.0-x86_64-unknown-linux-musl.tar.gz\npinned wharf-action-v1.2.0-aarch64-apple-darwin.tar.gz'
  run "$REPO_ROOT/scripts/pin" "$sums" "$pins"
  assert_success
  assert_equal "$(grep -c '^0' "$pins")" 2
  printf '%s  wharf-v1.2.0-x86_64-unknown-linux-musl.tar.gz\n' "$(printf '%064d' 3)" >"$sums"
  run "$REPO_ROOT/scripts/pin" "$sums" "$pins"
  assert_failure 1
  assert_output --partial "is pinned to $(printf '%064d' 1) already"
  printf '%s  notes.md\n' "$(printf '%064d' 4)" >"$sums"
  run "$REPO_ROOT/scripts/pin" "$sums" "$pins"
  assert_failure 1
  assert_output --partial "not a release archive's line"
}
