# shellcheck shell=bash
# A fixture release of wharf, made by scripts/dist, served over HTTP on a loopback port, for
# the installer's tests and the adapters' suites that install through it.
#
#   source tests/adapters/release.bash
#   make_fixture_release DIR   # DIR/vVERSION/{archives, SHA256SUMS}; sets FIXTURE_VERSION,
#                              # FIXTURE_TARGET and FIXTURE_SUMS (the SHA256SUMS file)
#   serve_releases DIR         # sets RELEASES_URL (http://127.0.0.1:PORT), RELEASES_LOG
#   serve_fixture_and_a_flipped_copy DIR   # both: RELEASES_URL/good and RELEASES_URL/flipped
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

# Serves DIR; known to be up when the server prints its port (no sleeping). Its request log
# is RELEASES_LOG.
serve_releases() {
  local dir=$1 port
  RELEASES_LOG=$(mktemp "${BATS_TMPDIR:-/tmp}/wharf-releases.XXXXXX")
  exec {RELEASES_FD}< <(exec python3 -u -c '
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1])
server.serve_forever()' "$dir" 2>"$RELEASES_LOG" </dev/null)
  RELEASES_PID=$!
  if ! read -r -u "$RELEASES_FD" port; then
    echo "the release server did not start:" >&2
    cat "$RELEASES_LOG" >&2
    return 1
  fi
  RELEASES_URL=http://127.0.0.1:$port
  export RELEASES_URL RELEASES_LOG
}

# serve_fixture_and_a_flipped_copy DIR: the fixture release as RELEASES_URL/good, and the same
# release with one byte of the wharf archive flipped as RELEASES_URL/flipped.
serve_fixture_and_a_flipped_copy() {
  make_fixture_release "$1/good"
  cp -r "$1/good" "$1/flipped"
  python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x01; open(p, "wb").write(b)' \
    "$1/flipped/$FIXTURE_VERSION/wharf-$FIXTURE_VERSION-$FIXTURE_TARGET.tar.gz"
  serve_releases "$1"
}

stop_releases() {
  [[ -n ${RELEASES_PID:-} ]] || return 0
  kill "$RELEASES_PID" 2>/dev/null || true
  exec {RELEASES_FD}<&- 2>/dev/null || true
  rm -f "$RELEASES_LOG"
  unset RELEASES_PID RELEASES_URL
}

# How many times the server was asked for PATH.
release_downloads() {
  grep -c "\"GET $1 HTTP" "$RELEASES_LOG" || true
}
