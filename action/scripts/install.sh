#!/usr/bin/env bash
# Installs the wharf-action binary for this runner and writes its path to the step output
# `path`. A release asset is used only when checksums.txt pins its SHA-256 and the download
# matches; otherwise (or with version "source") the binary is built from the action's own
# source with cargo.
#
# Reads: WHARF_ACTION_VERSION, WHARF_ACTION_PATH, RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP,
# GITHUB_OUTPUT; WHARF_ACTION_RELEASES overrides the release download base URL.
set -euo pipefail

releases=${WHARF_ACTION_RELEASES:-https://github.com/wharf-dev/wharf/releases/download}
version=${WHARF_ACTION_VERSION:-}
action_path=${WHARF_ACTION_PATH:?WHARF_ACTION_PATH is not set: run this from action.yml}
work=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/wharf-action

fail() {
  echo "::error title=wharf: install::$*"
  exit 2
}

target_of() {
  case "$1/$2" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    *) return 1 ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# The pinned checksum of an asset, or nothing.
pinned_checksum() {
  awk -v asset="$1" '$1 !~ /^#/ && $2 == asset { print $1; exit }' "$action_path/checksums.txt"
}

install_release() {
  local asset=$1 expected=$2 archive
  mkdir -p "$work/bin"
  archive="$work/$asset"
  echo "Downloading $asset"
  curl --fail --silent --show-error --location --retry 3 --output "$archive" \
    "$releases/$version/$asset" || fail "could not download $releases/$version/$asset"
  local actual
  actual=$(sha256_of "$archive")
  if [[ $actual != "$expected" ]]; then
    rm -f "$archive"
    fail "$asset has SHA-256 $actual, but checksums.txt pins $expected: refusing to run it"
  fi
  tar -xzf "$archive" -C "$work/bin" wharf-action
  rm -f "$archive"
  binary="$work/bin/wharf-action"
}

build_from_source() {
  command -v cargo >/dev/null ||
    fail "building wharf-action from source needs cargo: add a Rust toolchain step (e.g. rustup) before this action, or use a released version"
  echo "Building wharf-action from source ($1)"
  cargo build --release --locked --quiet --package wharf-github-action \
    --manifest-path "$action_path/../Cargo.toml" --target-dir "$work/build"
  binary="$work/build/release/wharf-action"
}

# Set by install_release or build_from_source.
binary=

main() {
  [[ -n $version ]] || fail "the 'version' input is empty: give a release such as v0.1.0, or source"
  if [[ $version == source ]]; then
    build_from_source "version: source"
  else
    [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
      fail "the 'version' input '$version' is not a release like v0.1.0, nor source"
    local target asset checksum
    target=$(target_of "${RUNNER_OS:-}" "${RUNNER_ARCH:-}") ||
      fail "no wharf-action release for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}: set version: source to build it"
    asset="wharf-action-$version-$target.tar.gz"
    checksum=$(pinned_checksum "$asset")
    if [[ -n $checksum ]]; then
      install_release "$asset" "$checksum"
    else
      build_from_source "no pinned release asset $asset"
    fi
  fi
  [[ -x $binary ]] || fail "wharf-action was not installed at $binary"
  echo "path=$binary" >>"${GITHUB_OUTPUT:-/dev/null}"
  echo "wharf-action: $binary"
}

main "$@"
