# shellcheck shell=bash
# A real `wharf serve` on a loopback port for the adapters' end-to-end tests.
#
#   source tests/adapters/control-plane.bash
#   start_control_plane     # sets WHARF_TEST_URL, WHARF_TEST_ADMIN, WHARF_TEST_ADMIN_TOKEN
#   ...
#   stop_control_plane
#
# The server applies examples/shop/wharf.toml (project `shop`, services `api` and `web`,
# `main` routed to `dev`). It is known to be up when it prints where it listens: no sleeping.
# `WHARF_BIN` names the binary under test (default: target/debug/wharf).

WHARF_REPO_ROOT=${WHARF_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WHARF_BIN=${WHARF_BIN:-$WHARF_REPO_ROOT/target/debug/wharf}
export WHARF_BIN WHARF_REPO_ROOT

start_control_plane() {
  if [[ ! -x $WHARF_BIN ]]; then
    echo "no wharf binary at $WHARF_BIN: run 'cargo build -p wharf' first" >&2
    return 1
  fi
  WHARF_TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/wharf-cp.XXXXXX")
  WHARF_TEST_ADMIN="admin"
  WHARF_TEST_ADMIN_TOKEN="test-admin-$RANDOM$RANDOM$RANDOM"
  mkfifo "$WHARF_TEST_DIR/stderr"
  WHARF_ADMIN_USERNAME=$WHARF_TEST_ADMIN WHARF_ADMIN_TOKEN=$WHARF_TEST_ADMIN_TOKEN \
    "$WHARF_BIN" serve --listen 127.0.0.1:0 --data "$WHARF_TEST_DIR/data" \
    --config "$WHARF_REPO_ROOT/examples/shop/wharf.toml" \
    2>"$WHARF_TEST_DIR/stderr" </dev/null &
  WHARF_TEST_PID=$!
  local line
  exec {WHARF_TEST_FD}<"$WHARF_TEST_DIR/stderr"
  while IFS= read -r -u "$WHARF_TEST_FD" line; do
    printf '%s\n' "$line" >>"$WHARF_TEST_DIR/server.log"
    if [[ $line == "wharf serve: listening on "* ]]; then
      WHARF_TEST_URL=${line#wharf serve: listening on }
      break
    fi
  done
  if [[ -z ${WHARF_TEST_URL:-} ]]; then
    echo "wharf serve did not start:" >&2
    cat "$WHARF_TEST_DIR/server.log" >&2
    return 1
  fi
  # Keep draining the server's log so it never blocks on a full pipe.
  cat <&"$WHARF_TEST_FD" >>"$WHARF_TEST_DIR/server.log" &
  WHARF_TEST_DRAIN_PID=$!
  export WHARF_TEST_URL WHARF_TEST_ADMIN WHARF_TEST_ADMIN_TOKEN WHARF_TEST_DIR
}

stop_control_plane() {
  [[ -n ${WHARF_TEST_PID:-} ]] || return 0
  kill "$WHARF_TEST_PID" 2>/dev/null || true
  wait "$WHARF_TEST_PID" 2>/dev/null || true
  wait "${WHARF_TEST_DRAIN_PID:-}" 2>/dev/null || true
  exec {WHARF_TEST_FD}<&- 2>/dev/null || true
  if grep -qF "$WHARF_TEST_ADMIN_TOKEN" "$WHARF_TEST_DIR/server.log"; then
    echo "the admin token leaked into the server log" >&2
    return 1
  fi
  rm -rf "$WHARF_TEST_DIR"
  unset WHARF_TEST_PID WHARF_TEST_URL
}

# Runs `wharf` as the test admin against the test control plane, JSON out.
wharf_admin() {
  WHARF_CONTROL_PLANE_URL=$WHARF_TEST_URL WHARF_USERNAME=$WHARF_TEST_ADMIN \
    WHARF_TOKEN=$WHARF_TEST_ADMIN_TOKEN "$WHARF_BIN" --output json "$@"
}

# A token for the project's `ci-bot` member (role `ci`: register and push only).
ci_bot_token() {
  wharf_admin token create --user ci-bot --name adapter-test | jq -r .token
}
