#!/usr/bin/env bats
# src/scripts/install.sh against a release directory served over file:// (or a stubbed curl
# for the default URL): the checksum is checked before anything is installed.
# The install-dir parameter holds a literal ~ for the script to expand.
# shellcheck disable=SC2088

load test_helper

SCRIPT="$ORB_DIR/src/scripts/install.sh"

setup() {
  use_private_stubs
  circleci_env
  RELEASES=$BATS_TEST_TMPDIR/releases
  export PARAM_VERSION=0.1.0 PARAM_INSTALL_DIR=$BATS_TEST_TMPDIR/bin PARAM_BASE_URL=file://$RELEASES PARAM_SHA256=""
}

# The machine the step runs on, as `uname -s` and `uname -m` tell it.
stub_machine() {
  stub uname "-s : echo $1" "-m : echo $2"
}

# Publishes a release like the real ones: a tarball holding `wharf`, and its .sha256.
publish_release() {
  local version=$1 target=${2:-x86_64-unknown-linux-musl}
  local dir=$RELEASES/v$version staging=$BATS_TEST_TMPDIR/staging
  local name=wharf-v$version-$target.tar.gz
  mkdir -p "$dir" "$staging"
  printf '#!/bin/sh\necho "wharf %s"\n' "$version" >"$staging/wharf"
  chmod +x "$staging/wharf"
  tar -czf "$dir/$name" -C "$staging" wharf
  (cd "$dir" && sha256sum "$name" >"$name.sha256")
}

@test "installs the release after its checksum matches, and puts it on PATH" {
  stub_machine Linux x86_64
  publish_release 0.1.0

  run "$BASH" "$SCRIPT"

  assert_success
  assert_line "installed wharf 0.1.0 (x86_64-unknown-linux-musl) in $PARAM_INSTALL_DIR"
  assert_line "wharf 0.1.0"
  # shellcheck disable=SC1090
  source "$BASH_ENV"
  assert_equal "$(command -v wharf)" "$PARAM_INSTALL_DIR/wharf"
  unstub uname
}

@test "a checksum mismatch installs nothing" {
  stub_machine Linux x86_64
  publish_release 0.1.0
  echo "0000000000000000000000000000000000000000000000000000000000000000  wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz" \
    >"$RELEASES/v0.1.0/wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz.sha256"

  run "$BASH" "$SCRIPT"

  assert_failure 1
  assert_output --regexp "^wharf/install: checksum mismatch for wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz: wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz.sha256 says 0{64}, the download is [0-9a-f]{64}; nothing was installed$"
  assert [ ! -e "$PARAM_INSTALL_DIR/wharf" ]
  assert_equal "$(cat "$BASH_ENV")" ""
  unstub uname
}

@test "a pinned sha256 must match too, so a tampered server cannot pass its own checksum" {
  stub_machine Linux x86_64
  publish_release 0.1.0
  local archive=$RELEASES/v0.1.0/wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz
  export PARAM_SHA256
  PARAM_SHA256=$(printf '%064d' 1)

  run "$BASH" "$SCRIPT"

  assert_failure 1
  assert_output --regexp "parameter 'sha256' pins 0{63}1, the download is [0-9a-f]{64}; nothing was installed$"
  assert [ ! -e "$PARAM_INSTALL_DIR/wharf" ]
  unstub uname

  stub_machine Linux x86_64
  PARAM_SHA256=$(sha256sum "$archive" | cut -d' ' -f1 | tr a-f A-F)
  run "$BASH" "$SCRIPT"
  assert_success
  assert [ -x "$PARAM_INSTALL_DIR/wharf" ]
  unstub uname
}

@test "a checksum file without a checksum is refused" {
  stub_machine Linux x86_64
  publish_release 0.1.0
  echo "<html>not found</html>" >"$RELEASES/v0.1.0/wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz.sha256"

  run "$BASH" "$SCRIPT"

  assert_failure 1
  assert_output "wharf/install: the checksum file wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz.sha256 holds no SHA-256"
  assert [ ! -e "$PARAM_INSTALL_DIR/wharf" ]
  unstub uname
}

@test "a missing release names the parameters to check" {
  stub_machine Linux x86_64
  run "$BASH" "$SCRIPT"

  assert_failure 1
  assert_output --partial "wharf/install: could not download file://$RELEASES/v0.1.0/wharf-v0.1.0-x86_64-unknown-linux-musl.tar.gz (check parameters 'version' and 'base-url')"
  unstub uname
}

@test "downloads from the default release URL for the machine's OS and architecture" {
  stub_machine Darwin arm64
  publish_release 0.1.0 aarch64-apple-darwin
  local base=https://github.com/wharf-dev/wharf/releases/download/v0.1.0/wharf-v0.1.0-aarch64-apple-darwin.tar.gz
  local published=$RELEASES/v0.1.0/wharf-v0.1.0-aarch64-apple-darwin.tar.gz
  stub curl \
    "--fail --silent --show-error --location --retry 3 --output * $base : [ \$# -eq 9 ] && cp '$published' \"\$8\"" \
    "--fail --silent --show-error --location --retry 3 --output * $base.sha256 : [ \$# -eq 9 ] && cp '$published.sha256' \"\$8\""
  export PARAM_BASE_URL=https://github.com/wharf-dev/wharf/releases/download/

  run "$BASH" "$SCRIPT"

  assert_success
  assert_line "installed wharf 0.1.0 (aarch64-apple-darwin) in $PARAM_INSTALL_DIR"
  unstub curl
  unstub uname
}

@test "an install of the same version is kept, and nothing is downloaded" {
  mkdir -p "$PARAM_INSTALL_DIR"
  printf '#!/bin/sh\necho "wharf 0.1.0"\n' >"$PARAM_INSTALL_DIR/wharf"
  chmod +x "$PARAM_INSTALL_DIR/wharf"
  stub curl

  run "$BASH" "$SCRIPT"

  assert_success
  assert_line "wharf 0.1.0 is already installed in $PARAM_INSTALL_DIR"
  run cat "$BASH_ENV"
  assert_output "export PATH=$PARAM_INSTALL_DIR:\"\$PATH\""
  unstub curl
}

@test "a v prefix on the version and a ~ in the install directory are understood" {
  stub_machine Linux x86_64
  publish_release 0.2.0
  export PARAM_VERSION=v0.2.0 PARAM_INSTALL_DIR='~/tools' HOME=$BATS_TEST_TMPDIR/home

  run "$BASH" "$SCRIPT"

  assert_success
  assert [ -x "$HOME/tools/wharf" ]
  assert_line "wharf 0.2.0"
  unstub uname
}

@test "an unsupported OS or architecture is named" {
  stub_machine FreeBSD x86_64
  run "$BASH" "$SCRIPT"
  assert_failure 1
  assert_output "wharf/install: no wharf release for the OS 'FreeBSD' (Linux and macOS have one)"
  unstub uname

  stub_machine Linux riscv64
  run "$BASH" "$SCRIPT"
  assert_failure 1
  assert_output "wharf/install: no wharf release for the architecture 'riscv64' (x86_64 and arm64 have one)"
  unstub uname
}

@test "bad parameters are errors that name them" {
  PARAM_VERSION=latest run "$BASH" "$SCRIPT"
  assert_failure 1
  assert_output "wharf/install: parameter 'version' must be a release version like 1.2.3, got 'latest'"

  PARAM_INSTALL_DIR="" run "$BASH" "$SCRIPT"
  assert_failure 1
  assert_output "wharf/install: parameter 'install-dir' is empty: give a directory for the wharf binary"

  PARAM_BASE_URL="" run "$BASH" "$SCRIPT"
  assert_failure 1
  assert_output "wharf/install: parameter 'base-url' is empty: give where wharf releases are downloaded from"

  PARAM_SHA256=abc123 run "$BASH" "$SCRIPT"
  assert_failure 1
  assert_output "wharf/install: parameter 'sha256' must be 64 hex digits (or empty), got 'abc123'"
}
