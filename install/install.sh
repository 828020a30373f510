#!/usr/bin/env bash
# The one wharf installer, shared by the GitHub Action, the CircleCI orb and the Buildkite
# plugin. It installs a pinned release of `wharf` or `wharf-action` for this machine: the
# archive's SHA-256 must match the line for it in the committed pins (install/checksums.txt,
# filled by the release workflow). An unpinned version, a missing pin or a mismatch installs
# nothing (fail closed). Verified archives are kept in the CI's tool cache and checked against
# the pins again on every use. Version "source" builds the binary with cargo instead.
#
# Environment (the adapters set it from their own options):
#   WHARF_INSTALL_VERSION    the release, v1.2.3 (or 1.2.3), or "source"               required
#   WHARF_INSTALL_BINARY     wharf or wharf-action                               default: wharf
#   WHARF_INSTALL_CHECKSUMS  the pins file            default: checksums.txt beside this script
#   WHARF_INSTALL_PINS       the pins themselves, instead of a file (the packed orb has no file)
#   WHARF_INSTALL_RELEASES   where releases are: BASE/vX.Y.Z/ASSET
#                            default: https://github.com/wharf-dev/wharf/releases/download
#   WHARF_INSTALL_CACHE      verified archives     default: $RUNNER_TOOL_CACHE/wharf, else
#                            ${XDG_CACHE_HOME:-~/.cache}/wharf
#   WHARF_INSTALL_DIR        where the binary goes         default: CACHE/BINARY-VERSION-TARGET
#   WHARF_INSTALL_SOURCE     with "source": a wharf checkout (a directory), or GIT_URL#TAG
#   WHARF_INSTALL_TARGET     the release target, when this machine's default is not the one
#                            wanted (e.g. x86_64-unknown-linux-gnu from a mirror)
# A leading ~ in a directory is the home directory (CI parameters are not expanded by a shell).
#
# Prints the installed binary's path, and nothing else, on stdout; progress and errors go to
# stderr. Exits 0 when installed, 1 otherwise.
set -euo pipefail

DEFAULT_RELEASES=https://github.com/wharf-dev/wharf/releases/download

fail() {
  if [[ ${GITHUB_ACTIONS:-} == true ]]; then
    printf '::error title=wharf install::%s\n' "$*" >&2
  else
    printf 'wharf install: %s\n' "$*" >&2
  fi
  exit 1
}

say() {
  printf 'wharf install: %s\n' "$*" >&2
}

expand_home() {
  printf '%s\n' "${1/#\~/$HOME}"
}

# The release version, as the assets spell it (v1.2.3); "source" stays "source".
read_version() {
  local version=${WHARF_INSTALL_VERSION:-}
  [[ -n $version ]] || fail "no version given: name a release such as v1.2.3, or source"
  [[ $version == source ]] && { echo source; return; }
  [[ $version =~ ^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
    fail "version '$version' is not a pinned release: give an exact version such as v1.2.3 (not a range or 'latest'), or source"
  echo "v${version#v}"
}

read_binary() {
  local binary=${WHARF_INSTALL_BINARY:-wharf}
  case $binary in
    wharf | wharf-action) echo "$binary" ;;
    *) fail "binary '$binary' is not one wharf releases: wharf or wharf-action" ;;
  esac
}

# The Cargo package that builds a binary.
package_of() {
  case $1 in
    wharf) echo wharf ;;
    wharf-action) echo wharf-github-action ;;
  esac
}

release_target() {
  if [[ -n ${WHARF_INSTALL_TARGET:-} ]]; then
    echo "$WHARF_INSTALL_TARGET"
    return
  fi
  local os arch
  os=$(uname -s)
  arch=$(uname -m)
  case $arch in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fail "no wharf release for the architecture '$arch' (x86_64 and arm64 have one): use version source" ;;
  esac
  case $os in
    Linux) echo "$arch-unknown-linux-musl" ;;
    Darwin) echo "$arch-apple-darwin" ;;
    *) fail "no wharf release for the OS '$os' (Linux and macOS have one): use version source" ;;
  esac
}

cache_dir() {
  local default=${XDG_CACHE_HOME:-$HOME/.cache}/wharf
  [[ -z ${RUNNER_TOOL_CACHE:-} ]] || default=$RUNNER_TOOL_CACHE/wharf
  expand_home "${WHARF_INSTALL_CACHE:-$default}"
}

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# The pins, as sha256sum prints them ("<sha256>  <asset>"); # starts a comment.
pins() {
  if [[ -n ${WHARF_INSTALL_PINS:-} ]]; then
    printf '%s\n' "$WHARF_INSTALL_PINS"
    return
  fi
  local file=${WHARF_INSTALL_CHECKSUMS:-}
  if [[ -z $file ]]; then
    [[ -n ${BASH_SOURCE[0]:-} && -f ${BASH_SOURCE[0]} ]] ||
      fail "no pins: set WHARF_INSTALL_CHECKSUMS to the checksums file"
    file=$(dirname "${BASH_SOURCE[0]}")/checksums.txt
  fi
  [[ -f $file ]] || fail "the checksums file $file does not exist"
  cat "$file"
}

# The pinned SHA-256 of ASSET, or nothing.
pin_of() {
  pins | awk -v asset="$1" '
    /^[[:space:]]*(#|$)/ { next }
    { name = $2; sub(/^\*/, "", name) }
    name == asset { print tolower($1); exit }'
}

# Leaves a verified copy of ASSET in the cache, downloading it unless the cached one matches.
fetch_verified() {
  local asset=$1 pin=$2 cache=$3 url=$4 cached=$3/$1 partial actual
  mkdir -p "$cache"
  if [[ -f $cached ]]; then
    if [[ $(sha256_of "$cached") == "$pin" ]]; then
      say "using the cached $asset ($cache)"
      return
    fi
    say "the cached $asset does not match its pin: downloading it again"
    rm -f "$cached"
  fi
  partial=$(mktemp "$cache/.$asset.XXXXXX")
  say "downloading $url"
  if ! curl --fail --silent --show-error --location --retry 3 --output "$partial" "$url"; then
    rm -f "$partial"
    fail "could not download $url: check the version, and WHARF_INSTALL_RELEASES if you use a mirror"
  fi
  actual=$(sha256_of "$partial")
  if [[ $actual != "$pin" ]]; then
    rm -f "$partial"
    fail "$asset has SHA-256 $actual, but the pins say $pin: refusing it, nothing was installed"
  fi
  mv -f "$partial" "$cached"
}

# Unpacks BINARY from the verified archive into DIR, replacing any older copy in one rename.
unpack() {
  local archive=$1 binary=$2 dir=$3 unpacked
  mkdir -p "$dir"
  unpacked=$(mktemp -d "$dir/.unpack.XXXXXX")
  if ! tar -xzf "$archive" -C "$unpacked" "$binary" || [[ ! -f $unpacked/$binary ]]; then
    rm -rf "$unpacked"
    fail "$(basename "$archive") holds no '$binary'"
  fi
  chmod 0755 "$unpacked/$binary"
  mv -f "$unpacked/$binary" "$dir/$binary"
  rmdir "$unpacked"
}

install_release() {
  local version=$1 binary=$2 cache=$3 target asset pin dir releases
  target=$(release_target)
  asset=$binary-$version-$target.tar.gz
  pin=$(pin_of "$asset")
  [[ -n $pin ]] ||
    fail "$asset is not pinned in the checksums file: no wharf release is pinned yet (or not this version); build it from source instead (version: source), or use a version this adapter's release pins"
  [[ $pin =~ ^[0-9a-f]{64}$ ]] || fail "the pin for $asset is not a SHA-256: '$pin'"
  releases=${WHARF_INSTALL_RELEASES:-$DEFAULT_RELEASES}
  fetch_verified "$asset" "$pin" "$cache" "${releases%/}/$version/$asset"
  dir=$(expand_home "${WHARF_INSTALL_DIR:-$cache/$binary-$version-$target}")
  unpack "$cache/$asset" "$binary" "$dir"
  say "installed $binary $version ($target, SHA-256 verified) in $dir"
  echo "$dir/$binary"
}

# Builds BINARY with cargo, from a checkout or from a git tag, and installs it.
install_from_source() {
  local binary=$1 cache=$2 source=${WHARF_INSTALL_SOURCE:-} package built dir
  [[ -n $source ]] || fail "version source needs WHARF_INSTALL_SOURCE: a wharf checkout, or GIT_URL#TAG"
  command -v cargo >/dev/null ||
    fail "version source builds $binary with cargo, which is not installed: install a Rust toolchain first, or use a release"
  package=$(package_of "$binary")
  source=$(expand_home "$source")
  mkdir -p "$cache"
  if [[ -d $source ]]; then
    say "building $binary from source in $source"
    cargo build --release --locked --quiet --package "$package" \
      --manifest-path "$source/Cargo.toml" --target-dir "$cache/source-build" >&2
    built=$cache/source-build/release/$binary
  else
    [[ $source == *#* ]] || fail "WHARF_INSTALL_SOURCE '$source' is neither a directory nor GIT_URL#TAG"
    say "building $binary from source: ${source%%#*} at ${source##*#}"
    cargo install --locked --quiet --root "$cache/source" --git "${source%%#*}" \
      --tag "${source##*#}" "$package" >&2
    built=$cache/source/bin/$binary
  fi
  [[ -x $built ]] || fail "cargo built no $binary at $built"
  dir=$(expand_home "${WHARF_INSTALL_DIR:-$cache/$binary-source}")
  mkdir -p "$dir"
  [[ $built -ef $dir/$binary ]] || install -m 0755 "$built" "$dir/$binary"
  say "installed $binary (built from source) in $dir"
  echo "$dir/$binary"
}

main() {
  local version binary cache
  version=$(read_version)
  binary=$(read_binary)
  cache=$(cache_dir)
  if [[ $version == source ]]; then
    install_from_source "$binary" "$cache"
  else
    install_release "$version" "$binary" "$cache"
  fi
}

main "$@"
