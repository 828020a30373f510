#!/usr/bin/env bats
# The adapters move together: the action's `version` input, the orb's, the Buildkite plugin's
# own release, and every reference to them in the docs and examples are the workspace's
# version. A release bumps them all at once (docs/releasing.md).

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
WHARF_CI_TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}
PYTHON=${WHARF_CI_PYTHON:-$REPO_ROOT/.ci/venv/bin/python}

load "$WHARF_CI_TOOLS/bats-support/load.bash"
load "$WHARF_CI_TOOLS/bats-assert/load.bash"

setup_file() {
  VERSION=v$(cargo metadata --format-version 1 --no-deps --offline \
    --manifest-path "$REPO_ROOT/Cargo.toml" | jq -r '.packages[] | select(.name == "wharf") | .version')
  export VERSION
}

# yaml_at FILE PATH…: the value at that path of keys in a YAML file.
yaml_at() {
  "$PYTHON" - "$@" <<'PY'
import sys
from ruamel.yaml import YAML
node = YAML(typ="safe").load(open(sys.argv[1]))
for key in sys.argv[2:]:
    node = node[int(key)] if isinstance(node, list) else node[key]
print(node)
PY
}

@test "the action installs the workspace's version by default" {
  assert_equal "$(yaml_at "$REPO_ROOT/action/action.yml" inputs version default)" "$VERSION"
}

@test "the orb's install command and register job install the workspace's version by default" {
  local orb=$REPO_ROOT/circleci-orb/src
  assert_equal "$(yaml_at "$orb/commands/install.yml" parameters version default)" "$VERSION"
  assert_equal "$(yaml_at "$orb/jobs/register.yml" parameters version default)" "$VERSION"
  assert_equal "$(yaml_at "$orb/commands/install.yml" steps 1 run environment WHARF_INSTALL_SOURCE)" \
    "https://github.com/wharf-dev/wharf#$VERSION"
}

@test "the Buildkite plugin's own release is the workspace's version" {
  # shellcheck source=/dev/null
  source "$REPO_ROOT/buildkite-plugin/lib/config.bash"
  assert_equal "$WHARF_PLUGIN_RELEASE" "$VERSION"
}

@test "the docs and examples show the workspace's version of every adapter" {
  local refs
  # shellcheck disable=SC2016 # the backquote is a character of the pattern
  refs=$(cd "$REPO_ROOT" && git ls-files -co --exclude-standard -- '*.md' '*.yml' |
    grep -v '^CHANGELOG.md$' | xargs grep -oHE \
      'wharf-dev/wharf(/action@v[0-9][^ "`]*|#v[0-9][^ :"`]*|@[0-9][^ "`]*)' || true)
  [[ -n $refs ]]
  run grep -vE "(action@|#)$VERSION\$|@${VERSION#v}\$" <<<"$refs"
  assert_output ""
}
