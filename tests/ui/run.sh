#!/usr/bin/env bash
# The web UI's browser suite: starts one real `wharf serve` (the shop example) on loopback,
# then drives its /ui/ pages in headless Chromium (Debian's `chromium`, through npm
# `playwright-core`), with an axe-core accessibility check of each page. Prints TAP; with a
# file as $1, appends its TAP lines there too (for .ci/run's closing line).
#
#   bash tests/ui/run.sh [TAP_LOG]
#
# Needs: target/debug/wharf (or WHARF_BIN), /usr/bin/chromium (or WHARF_CHROMIUM), and
# .ci/tools/node_modules (npm ci --prefix .ci/tools). WHARF_UI_SCREENSHOTS=DIR writes the flow
# page's screenshots there (docs/ holds the ones the README shows).
set -euo pipefail
cd "$(dirname "$0")/../.."

tap_log=${1:-/dev/null}
source tests/adapters/control-plane.bash
# The server seals webhook secrets with a key, and reads the Deliveries scenario's secret.
WHARF_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
WHARF_WEBHOOK_SECRET=whsec_$(head -c 32 /dev/urandom | base64)
export WHARF_SECRET_KEY WHARF_WEBHOOK_SECRET
start_control_plane
trap 'stop_control_plane' EXIT

out=$(mktemp)
status=0
WHARF_UI_URL=$WHARF_TEST_URL WHARF_UI_ADMIN=$WHARF_TEST_ADMIN \
  WHARF_UI_ADMIN_TOKEN=$WHARF_TEST_ADMIN_TOKEN WHARF_BIN=$WHARF_BIN \
  NODE_PATH=$PWD/.ci/tools/node_modules \
  timeout 240 node tests/ui/browser.mjs | tee "$out" || status=$?
grep -E '^(ok|not ok) ' "$out" >>"$tap_log" || true
if ((status != 0)) && ! grep -q '^not ok ' "$out"; then
  echo "not ok - browser suite could not run (exit $status)" | tee -a "$tap_log"
fi
if grep -qF "$WHARF_TEST_ADMIN_TOKEN" "$out"; then
  echo "not ok - the admin token appeared in the browser suite's output" | tee -a "$tap_log"
  status=1
fi
rm -f "$out"
exit "$status"
