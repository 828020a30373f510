# shellcheck shell=bash
# A fixture release of wharf, made by scripts/dist, served over HTTP on a loopback port, for
# the installer's tests and the adapters' suites that install through it.
#
#   source tests/adapters/release.bash
#   make_fixture_release DIR   # DIR/vVERSION/{archives, SHA256SUMS}; sets FIXTURE_VERSION,
#                              # FIXTURE_TARGET and FIXTURE_SUMS (the SHA256SUMS file)
#   serve_releases DIR         # sets RELEASES_URL (http://127.0.0.1:PORT), RELEASES_LOG
#   fixture_pins FILE          # writes a checksums file pinning the fixture's archives
#   stop_releases
#
# WHARF_TEST_RELEASE names a directory scripts/dist already filled (CI packs the release build
# once); without it the fixture is packed from the debug build in target/debug.

WHARF_REPO_ROOT=${WHARF_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

make_fixture_release() {
  local dir=$1 made
  FIXTURE_VERSION=v$(cargo metadata --format-version 1 --no-deps --offline \
    --manifest-path "$WHARF_REPO_ROOT/Cargo.toml" | jq -r '.packages[] | select(.name == "wharf") | .version')
  mkdir -p "$dir/$FIXTURE_VERSION"
  if [[ -n ${WHARF_TEST_RELEASE:-} ]]; then
    cp "$WHARF_TEST_RELEASE"/* "$dir/$FIXTURE_VERSION/"
  else
    "$WHARF_REPO_ROOT/scripts/dist" --prebuilt "$WHARF_REPO_ROOT/target/debug" \
      --out "$dir/$FIXTURE_VERSION" >/dev/null
  fi
  FIXTURE_SUMS=$dir/$FIXTURE_VERSION/SHA256SUMS
  made=$(awk '$2 ~ /^wharf-v/ { print $2; exit }' "$FIXTURE_SUMS")
  FIXTURE_TARGET=${made#"wharf-$FIXTURE_VERSION-"}
  FIXTURE_TARGET=${FIXTURE_TARGET%.tar.gz}
  export FIXTURE_VERSION FIXTURE_TARGET FIXTURE_SUMS
}

fixture_pins() {
  {
    echo "# the fixture release's pins"
    cat "$FIXTURE_SUMS"
  } >"$1"
}

# Serves DIR; known to be up when the server says where it listens (no sleeping).
serve_releases() {
  local dir=$1 line
  RELEASES_RUN=$(mktemp -d "${BATS_TMPDIR:-/tmp}/wharf-releases.XXXXXX")
  RELEASES_LOG=$RELEASES_RUN/requests.log
  mkfifo "$RELEASES_RUN/stdout"
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$dir" \
    >"$RELEASES_RUN/stdout" 2>"$RELEASES_LOG" </dev/null &
  RELEASES_PID=$!
  exec {RELEASES_FD}<"$RELEASES_RUN/stdout"
  while IFS= read -r -u "$RELEASES_FD" line; do
    if [[ $line =~ ^Serving\ HTTP\ on\ 127\.0\.0\.1\ port\ ([0-9]+) ]]; then
      RELEASES_URL=http://127.0.0.1:${BASH_REMATCH[1]}
      break
    fi
  done
  if [[ -z ${RELEASES_URL:-} ]]; then
    echo "the release server did not start:" >&2
    cat "$RELEASES_LOG" >&2
    return 1
  fi
  cat <&"$RELEASES_FD" >/dev/null &
  RELEASES_DRAIN_PID=$!
  export RELEASES_URL RELEASES_LOG
}

stop_releases() {
  [[ -n ${RELEASES_PID:-} ]] || return 0
  kill "$RELEASES_PID" 2>/dev/null || true
  wait "$RELEASES_PID" 2>/dev/null || true
  wait "${RELEASES_DRAIN_PID:-}" 2>/dev/null || true
  exec {RELEASES_FD}<&- 2>/dev/null || true
  rm -rf "$RELEASES_RUN"
  unset RELEASES_PID RELEASES_URL
}

# How many times the server was asked for PATH.
release_downloads() {
  grep -c "\"GET $1 HTTP" "$RELEASES_LOG" || true
}
