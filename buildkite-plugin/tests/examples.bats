#!/usr/bin/env bats
# shellcheck disable=SC1091 # lib/config.bash is found through PLUGIN_DIR at run time
# The documented examples against the schema, and the schema against the hook.

load helpers

setup() {
  CHECK=$BATS_TEST_DIRNAME/check-examples.sh
}

# example_page CONFIG_LINES…: a Markdown page whose one pipeline uses the plugin with this
# configuration (one `key: value` per argument).
example_page() {
  local page=$BATS_TEST_TMPDIR/page.md line
  {
    printf '# Example\n\n```yaml\nsteps:\n  - label: register\n    plugins:\n      - wharf-dev/wharf#v0.1.0:\n'
    for line in "$@"; do printf '          %s\n' "$line"; done
    printf '```\n'
  } >"$page"
  echo "$page"
}

@test "the README's and the docs page's examples are valid" {
  run "$CHECK"

  assert_success
  assert_line --partial "buildkite-plugin/README.md:"
  assert_line --partial "docs/buildkite.md:"
}

@test "a valid example page passes" {
  run "$CHECK" "$(example_page "project: shop" "service: api" "image: i:1" "push: true" "tag: '1.0'")"

  assert_success
}

@test "an example with an unknown option fails, naming it" {
  run "$CHECK" "$(example_page "project: shop" "service: api" "image: i:1" "servce: api")"

  assert_failure
  assert_output --partial "'servce' was unexpected"
}

@test "the schema leaves the rules between options to wharf, which checks them when the step runs" {
  run "$CHECK" "$(example_page "project: shop" "service: api" "image: i:1" "git-ref: main" "environment: dev")"
  assert_success

  run "$CHECK" "$(example_page "project: shop" "service: api" "ci-name: api" "image: i:1")"
  assert_success

  run "$CHECK" "$(example_page "project: shop" "service: api" "image: i:1" "platform: linux/arm64")"
  assert_success
}

@test "an example missing a required option fails" {
  run "$CHECK" "$(example_page "service: api" "image: i:1")"

  assert_failure
  assert_output --partial "'project' is a required property"
}

@test "an example with a switch written as text fails" {
  run "$CHECK" "$(example_page "project: shop" "service: api" "image: i:1" "push: 'yes'")"

  assert_failure
}

@test "an example naming the plugin differently fails" {
  sed 's|wharf-dev/wharf#v0.1.0|acme/wharf#main|' "$(example_page "project: shop" "service: api" "image: i:1")" \
    >"$BATS_TEST_TMPDIR/renamed.md"

  run "$CHECK" "$BATS_TEST_TMPDIR/renamed.md"

  assert_failure
  assert_output --partial "plugin reference 'acme/wharf#main' should be like wharf-dev/wharf#v0.1.0"
}

@test "an example pipeline Buildkite would reject fails" {
  local page
  page=$(example_page "project: shop" "service: api" "image: i:1")
  sed -i 's/  - label: register/  - label: register\n    not_a_step_attribute: 1/' "$page"

  run "$CHECK" "$page"

  assert_failure
  assert_output --partial "'not_a_step_attribute', 'plugins' were unexpected"
}

@test "a page without examples fails: the check must check something" {
  printf '# Nothing here\n' >"$BATS_TEST_TMPDIR/empty.md"

  run "$CHECK" "$BATS_TEST_TMPDIR/empty.md"

  assert_failure
  assert_output --partial "no wharf-dev/wharf#…: plugin examples found"
}

@test "plugin.yml and the hook know the same options, with the same types" {
  source "$PLUGIN_DIR/lib/config.bash"
  local schema
  schema=$("${PYTHON:-$REPO_ROOT/.ci/venv/bin/python}" -c '
import json, sys
from ruamel.yaml import YAML
print(json.dumps(YAML(typ="safe", pure=True).load(open(sys.argv[1]))["configuration"]))' "$PLUGIN_DIR/plugin.yml")

  assert_equal "$(jq -r '.properties | to_entries[] | select(.value.type == "string") | .key' <<<"$schema" | sort)" \
    "$(printf '%s\n' "${WHARF_STRING_OPTIONS[@]}" | sort)"
  assert_equal "$(jq -r '.properties | to_entries[] | select(.value.type == "boolean") | .key' <<<"$schema" | sort)" \
    "$(printf '%s\n' "${WHARF_BOOLEAN_OPTIONS[@]}" | sort)"
  assert_equal "$(jq -r '.properties | length' <<<"$schema")" \
    "$((${#WHARF_STRING_OPTIONS[@]} + ${#WHARF_BOOLEAN_OPTIONS[@]}))"
  assert_equal "$(jq -r .additionalProperties <<<"$schema")" false
}

@test "every option is in the README's and the docs page's option tables" {
  source "$PLUGIN_DIR/lib/config.bash"
  local option
  for option in "${WHARF_STRING_OPTIONS[@]}" "${WHARF_BOOLEAN_OPTIONS[@]}"; do
    assert grep -qF "| \`$option\` |" "$PLUGIN_DIR/README.md"
    assert grep -qF "| \`$option\` |" "$REPO_ROOT/docs/buildkite.md"
  done
}
