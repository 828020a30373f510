#!/usr/bin/env bash
# Installs a pinned wharf release for this machine's OS and architecture, after checking the
# archive against its published SHA-256: the orb's `install` command.
#
# Parameters arrive as PARAM_VERSION, PARAM_INSTALL_DIR, PARAM_BASE_URL and PARAM_SHA256.
# The release layout is BASE/vVERSION/wharf-vVERSION-TARGET.tar.gz, with its .sha256 beside
# it; PARAM_SHA256, when given, pins the archive's checksum independently of the server.
set -euo pipefail

fail() {
  printf 'wharf/install: %s\n' "$*" >&2
  exit 1
}

release_target() {
  local os arch
  os=$(uname -s)
  arch=$(uname -m)
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fail "no wharf release for the architecture '$arch' (x86_64 and arm64 have one)" ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin) echo "$arch-apple-darwin" ;;
    *) fail "no wharf release for the OS '$os' (Linux and macOS have one)" ;;
  esac
}

read_version() {
  local version=${PARAM_VERSION:-}
  version=${version#v}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
    fail "parameter 'version' must be a release version like 1.2.3, got '${PARAM_VERSION:-}'"
  echo "$version"
}

read_install_dir() {
  local dir=${PARAM_INSTALL_DIR:-}
  [[ -n $dir ]] || fail "parameter 'install-dir' is empty: give a directory for the wharf binary"
  # A leading ~ means the home directory: parameters are not expanded by a shell.
  echo "${dir/#\~/$HOME}"
}

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

download() {
  curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" ||
    fail "could not download $1 (check parameters 'version' and 'base-url')"
}

read_pinned_checksum() {
  local pinned=${PARAM_SHA256:-}
  pinned=$(tr 'A-F' 'a-f' <<<"$pinned")
  [[ -z $pinned || $pinned =~ ^[0-9a-f]{64}$ ]] ||
    fail "parameter 'sha256' must be 64 hex digits (or empty), got '${PARAM_SHA256:-}'"
  echo "$pinned"
}

# The published .sha256 guards against a corrupt download; a pinned one, against the server.
verify_checksum() {
  local archive=$1 checksum_file=$2 name=$3 pinned=$4 published actual
  published=$(awk '{print $1; exit}' "$checksum_file" | tr 'A-F' 'a-f')
  [[ $published =~ ^[0-9a-f]{64}$ ]] || fail "the checksum file $name.sha256 holds no SHA-256"
  actual=$(sha256_of "$archive")
  [[ $actual == "$published" ]] ||
    fail "checksum mismatch for $name: $name.sha256 says $published, the download is $actual; nothing was installed"
  [[ -z $pinned || $actual == "$pinned" ]] ||
    fail "checksum mismatch for $name: parameter 'sha256' pins $pinned, the download is $actual; nothing was installed"
}

already_installed() {
  [[ -x $1/wharf ]] && [[ $("$1/wharf" --version 2>/dev/null) == "wharf $2" ]]
}

add_to_path() {
  [[ -n ${BASH_ENV:-} ]] || return 0
  # $PATH is expanded later, when a step sources BASH_ENV.
  # shellcheck disable=SC2016
  printf 'export PATH=%q:"$PATH"\n' "$1" >>"$BASH_ENV"
}

main() {
  local version dir target base name binary pinned
  version=$(read_version)
  pinned=$(read_pinned_checksum)
  dir=$(read_install_dir)
  base=${PARAM_BASE_URL:-}
  [[ -n $base ]] || fail "parameter 'base-url' is empty: give where wharf releases are downloaded from"
  base=${base%/}

  if already_installed "$dir" "$version"; then
    echo "wharf $version is already installed in $dir"
  else
    target=$(release_target)
    name=wharf-v$version-$target.tar.gz
    WHARF_INSTALL_WORK=$(mktemp -d)
    trap 'rm -rf "$WHARF_INSTALL_WORK"' EXIT
    local work=$WHARF_INSTALL_WORK
    download "$base/v$version/$name" "$work/$name"
    download "$base/v$version/$name.sha256" "$work/$name.sha256"
    verify_checksum "$work/$name" "$work/$name.sha256" "$name" "$pinned"
    mkdir -p "$work/unpacked"
    tar -xzf "$work/$name" -C "$work/unpacked"
    binary=$(find "$work/unpacked" -type f -name wharf | head -n 1)
    [[ -n $binary ]] || fail "$name holds no 'wharf' binary"
    mkdir -p "$dir"
    install -m 0755 "$binary" "$dir/wharf"
    echo "installed wharf $version ($target) in $dir"
  fi
  add_to_path "$dir"
  "$dir/wharf" --version
}

main "$@"
