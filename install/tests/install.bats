#!/usr/bin/env bats
# install/install.sh against a fixture release: archives and SHA256SUMS made by scripts/dist,
# served over HTTP on loopback. What it installs must match the pins; one flipped byte, a
# missing pin or an unpinned version installs nothing.

# shellcheck disable=SC2034,SC2154 # BATS_MOCK_* are bats-mock's; bats sets $stderr
bats_require_minimum_version 1.5.0

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
WHARF_CI_TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}
INSTALL=$REPO_ROOT/install/install.sh

load "$WHARF_CI_TOOLS/bats-support/load.bash"
load "$WHARF_CI_TOOLS/bats-assert/load.bash"
load "$WHARF_CI_TOOLS/bats-mock/stub.bash"
load "$REPO_ROOT/tests/adapters/release.bash"

setup_file() {
  serve_fixture_and_a_flipped_copy "$BATS_FILE_TMPDIR/served"
  PINS=$BATS_FILE_TMPDIR/checksums.txt
  fixture_pins "$PINS"
  export PINS
}

teardown_file() {
  stop_releases
}

setup() {
  BATS_MOCK_TMPDIR=$BATS_TEST_TMPDIR
  BATS_MOCK_BINDIR=$BATS_TEST_TMPDIR/bin
  PATH="$BATS_MOCK_BINDIR:$PATH"
  unset GITHUB_ACTIONS RUNNER_TOOL_CACHE WHARF_INSTALL_DIR WHARF_INSTALL_PINS WHARF_INSTALL_SOURCE
  export HOME=$BATS_TEST_TMPDIR/home
  export WHARF_INSTALL_VERSION=$FIXTURE_VERSION WHARF_INSTALL_TARGET=$FIXTURE_TARGET
  export WHARF_INSTALL_CHECKSUMS=$PINS WHARF_INSTALL_RELEASES=$RELEASES_URL/good
  export WHARF_INSTALL_CACHE=$BATS_TEST_TMPDIR/cache
  ARCHIVE=wharf-$FIXTURE_VERSION-$FIXTURE_TARGET.tar.gz
}

# Runs the installer with stdout and stderr apart: $output is stdout only.
install_wharf() {
  run --separate-stderr "$INSTALL"
}

@test "installs the pinned release from the server, and prints only the binary's path" {
  install_wharf
  assert_success
  local binary=$WHARF_INSTALL_CACHE/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET/wharf
  assert_output "$binary"
  [[ $stderr == *"installed wharf $FIXTURE_VERSION ($FIXTURE_TARGET, SHA-256 verified)"* ]]
  run "$binary" --version
  assert_success
  assert_output --regexp "^wharf ${FIXTURE_VERSION#v} \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$"
}

@test "installs wharf-action too, into the directory asked for" {
  WHARF_INSTALL_BINARY=wharf-action WHARF_INSTALL_DIR=$BATS_TEST_TMPDIR/tools install_wharf
  assert_success
  assert_output "$BATS_TEST_TMPDIR/tools/wharf-action"
  assert [ -x "$BATS_TEST_TMPDIR/tools/wharf-action" ]
  run "$BATS_TEST_TMPDIR/tools/wharf-action" --version
  assert_output --partial "wharf-action ${FIXTURE_VERSION#v} (commit "
}

@test "a cached archive is checked again and used without downloading" {
  local before
  install_wharf
  assert_success
  before=$(release_downloads "/good/$FIXTURE_VERSION/$ARCHIVE")
  install_wharf
  assert_success
  [[ $stderr == *"using the cached $ARCHIVE"* ]]
  assert_equal "$(release_downloads "/good/$FIXTURE_VERSION/$ARCHIVE")" "$before"
}

@test "a release with one byte flipped is refused, and nothing is installed or cached" {
  WHARF_INSTALL_RELEASES=$RELEASES_URL/flipped install_wharf
  assert_failure 1
  assert_output ""
  [[ $stderr =~ "wharf install: $ARCHIVE has SHA-256 "[0-9a-f]{64}", but the pins say "[0-9a-f]{64}": refusing it, nothing was installed" ]]
  assert [ ! -e "$WHARF_INSTALL_CACHE/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET" ]
  run ls -A "$WHARF_INSTALL_CACHE"
  assert_output ""
}

@test "a tampered cache is not trusted: the archive is downloaded again" {
  install_wharf
  assert_success
  printf 'tampered' >>"$WHARF_INSTALL_CACHE/$ARCHIVE"
  install_wharf
  assert_success
  [[ $stderr == *"the cached $ARCHIVE does not match its pin: downloading it again"* ]]
  run "$output" --version
  assert_success
}

@test "an unpinned version is refused before anything is downloaded" {
  local version
  for version in latest v1 1.2 '>=1.0.0' '1.2.3; rm -rf /'; do
    WHARF_INSTALL_VERSION=$version install_wharf
    assert_failure 1
    assert_equal "$stderr" "wharf install: version '$version' is not a pinned release: give an exact version such as v1.2.3 (not a range or 'latest'), or source"
  done
  WHARF_INSTALL_VERSION=v9.9.9 install_wharf
  assert_failure 1
  assert_equal "$stderr" "wharf install: wharf-v9.9.9-$FIXTURE_TARGET.tar.gz is not pinned in the checksums file: no wharf release is pinned yet (or not this version); build it from source instead (version: source), or use a version this adapter's release pins"
  WHARF_INSTALL_VERSION="" install_wharf
  assert_failure 1
  assert_equal "$stderr" "wharf install: no version given: name a release such as v1.2.3, or source"
  run grep -c 'GET /good/v9' "$RELEASES_LOG"
  assert_output 0
}

@test "a release whose archive the pins do not list is refused" {
  grep -v " $ARCHIVE\$" "$PINS" >"$BATS_TEST_TMPDIR/pins"
  WHARF_INSTALL_CHECKSUMS=$BATS_TEST_TMPDIR/pins install_wharf
  assert_failure 1
  assert_equal "$stderr" "wharf install: $ARCHIVE is not pinned in the checksums file: no wharf release is pinned yet (or not this version); build it from source instead (version: source), or use a version this adapter's release pins"
}

@test "the pins can come as text (the packed orb), and a 1.2.3 version means v1.2.3" {
  WHARF_INSTALL_PINS=$(cat "$PINS") WHARF_INSTALL_CHECKSUMS=/nonexistent \
    WHARF_INSTALL_VERSION=${FIXTURE_VERSION#v} install_wharf
  assert_success
  assert_output --partial "/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET/wharf"
}

@test "by default the pins are the checksums.txt beside the script" {
  mkdir -p "$BATS_TEST_TMPDIR/adapter"
  cp "$INSTALL" "$BATS_TEST_TMPDIR/adapter/install.sh"
  echo "# nothing pinned" >"$BATS_TEST_TMPDIR/adapter/checksums.txt"
  unset WHARF_INSTALL_CHECKSUMS
  run --separate-stderr "$BATS_TEST_TMPDIR/adapter/install.sh"
  assert_failure 1
  [[ $stderr == *"$ARCHIVE is not pinned in the checksums file"* ]]
  cp "$PINS" "$BATS_TEST_TMPDIR/adapter/checksums.txt"
  run --separate-stderr "$BATS_TEST_TMPDIR/adapter/install.sh"
  assert_success
}

@test "on GitHub Actions a refusal is an error annotation" {
  GITHUB_ACTIONS=true WHARF_INSTALL_RELEASES=$RELEASES_URL/flipped install_wharf
  assert_failure 1
  [[ $stderr == *$'\n::error title=wharf install::'"$ARCHIVE has SHA-256 "* ]]
}

@test "the tool cache is RUNNER_TOOL_CACHE on GitHub, ~/.cache otherwise" {
  unset WHARF_INSTALL_CACHE
  RUNNER_TOOL_CACHE=$BATS_TEST_TMPDIR/toolcache install_wharf
  assert_success
  assert_output "$BATS_TEST_TMPDIR/toolcache/wharf/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET/wharf"
  # shellcheck disable=SC2088 # the installer expands the ~ itself
  WHARF_INSTALL_DIR='~/bin' install_wharf
  assert_success
  assert_output "$HOME/bin/wharf"
  assert [ -f "$HOME/.cache/wharf/$ARCHIVE" ]
}

@test "a missing release names the setting to check" {
  WHARF_INSTALL_RELEASES=$RELEASES_URL/nowhere install_wharf
  assert_failure 1
  [[ $stderr == *"could not download $RELEASES_URL/nowhere/$FIXTURE_VERSION/$ARCHIVE: check the version, and WHARF_INSTALL_RELEASES if you use a mirror" ]]
}

@test "the machine picks the release target" {
  unset WHARF_INSTALL_TARGET
  stub uname "-s : echo Darwin" "-m : echo arm64"
  WHARF_INSTALL_VERSION=v9.9.9 install_wharf
  assert_equal "$stderr" "wharf install: wharf-v9.9.9-aarch64-apple-darwin.tar.gz is not pinned in the checksums file: no wharf release is pinned yet (or not this version); build it from source instead (version: source), or use a version this adapter's release pins"
  unstub uname
  stub uname "-s : echo Linux" "-m : echo x86_64"
  WHARF_INSTALL_VERSION=v9.9.9 install_wharf
  [[ $stderr == *"wharf-v9.9.9-x86_64-unknown-linux-musl.tar.gz is not pinned"* ]]
  unstub uname
  stub uname "-s : echo FreeBSD" "-m : echo x86_64"
  install_wharf
  assert_failure 1
  assert_equal "$stderr" "wharf install: no wharf release for the OS 'FreeBSD' (Linux and macOS have one): use version source"
  unstub uname
}

@test "version source builds from a checkout with cargo" {
  local built=$WHARF_INSTALL_CACHE/source-build/release
  stub cargo "build --release --locked --quiet --package wharf-github-action --manifest-path $REPO_ROOT/Cargo.toml --target-dir $WHARF_INSTALL_CACHE/source-build : mkdir -p $built && printf '#!/bin/sh\necho built\n' >$built/wharf-action && chmod +x $built/wharf-action"
  WHARF_INSTALL_VERSION=source WHARF_INSTALL_BINARY=wharf-action WHARF_INSTALL_SOURCE=$REPO_ROOT \
    install_wharf
  assert_success
  assert_output "$WHARF_INSTALL_CACHE/wharf-action-source/wharf-action"
  run "$output"
  assert_output built
  unstub cargo
}

@test "version source builds a git tag with cargo install" {
  local root=$WHARF_INSTALL_CACHE/source
  stub cargo "install --locked --quiet --root $root --git https://git.example/wharf --tag v1.2.3 wharf : mkdir -p $root/bin && printf '#!/bin/sh\n' >$root/bin/wharf && chmod +x $root/bin/wharf"
  WHARF_INSTALL_VERSION=source WHARF_INSTALL_SOURCE='https://git.example/wharf#v1.2.3' install_wharf
  assert_success
  assert_output "$WHARF_INSTALL_CACHE/wharf-source/wharf"
  unstub cargo
}

@test "version source without cargo names the fix" {
  [[ $(command -v cargo) != /usr/bin/* && $(command -v cargo) != /bin/* ]] || skip "cargo is in /usr/bin here"
  WHARF_INSTALL_VERSION=source WHARF_INSTALL_SOURCE=$REPO_ROOT \
    run --separate-stderr env PATH=/usr/bin:/bin "$INSTALL"
  assert_failure 1
  assert_equal "$stderr" "wharf install: version source builds wharf with cargo, which is not installed: install a Rust toolchain first, or use a release"
}
