# shellcheck shell=bash
# The plugin's configuration, read from BUILDKITE_PLUGIN_CONFIGURATION (the agent's JSON copy of
# the step's `wharf-dev/wharf#…:` mapping), checked once, then read one option at a time.

WHARF_STRING_OPTIONS=(
  control-plane-url username token-env project service ci-name image git-ref environment
  release-stream registry external-id description platform tag wharf-path version oidc-audience
)
WHARF_BOOLEAN_OPTIONS=(push require-route dry-run skip-without-credentials keyless)
# The plugin's own release: the wharf it installs unless `version` says otherwise. It moves
# with the workspace's version, the action's and the orb's (install/tests/versions.bats).
WHARF_PLUGIN_RELEASE=v0.1.0
WHARF_PLUGIN_REF="wharf-dev/wharf#$WHARF_PLUGIN_RELEASE"

config_error() {
  printf 'wharf plugin: %s\n' "$*" >&2
  exit 2
}

require_jq() {
  command -v jq >/dev/null 2>&1 ||
    config_error "jq is not installed on this agent; the plugin needs it to read its configuration"
}

# Loads BUILDKITE_PLUGIN_CONFIGURATION into WHARF_CONFIG and rejects what the plugin itself
# cannot map to wharf's command line: a configuration that is not a mapping, options it does not
# have (they would never reach wharf), values of the wrong type and a token-env that names no
# variable. Everything else (required options, options that exclude each other, push-only
# options) is wharf's to check: it runs, and its message comes back in the plugin's option
# names (in_plugin_terms).
load_config() {
  WHARF_CONFIG=${BUILDKITE_PLUGIN_CONFIGURATION:-}
  if [[ -z $WHARF_CONFIG ]]; then
    config_error "BUILDKITE_PLUGIN_CONFIGURATION is not set: run this hook as a Buildkite plugin" \
      "(- $WHARF_PLUGIN_REF: with project, service and image under it)"
  fi
  if ! jq -e 'type == "object"' <<<"$WHARF_CONFIG" >/dev/null 2>&1; then
    config_error "the plugin's configuration must be a mapping of options" \
      "(project, service, image, …) under '- $WHARF_PLUGIN_REF:'"
  fi
  check_option_names
  check_option_types
  check_token_env_name
}

# Names only, never values: a misplaced secret must not reach the log.
check_option_names() {
  local unknown
  unknown=$(jq -r --args 'keys_unsorted - $ARGS.positional | join(", ")' <<<"$WHARF_CONFIG" \
    "${WHARF_STRING_OPTIONS[@]}" "${WHARF_BOOLEAN_OPTIONS[@]}")
  [[ -z $unknown ]] && return 0
  local hint=""
  if jq -e 'has("token") or has("password")' <<<"$WHARF_CONFIG" >/dev/null; then
    hint=" The token never goes in pipeline.yml: provide it as an agent secret or from an"
    hint+=" environment hook, in WHARF_TOKEN or in the variable named by token-env."
  fi
  config_error "unknown option(s): $unknown. Valid options:" \
    "$(printf '%s, ' "${WHARF_STRING_OPTIONS[@]}" "${WHARF_BOOLEAN_OPTIONS[@]}" | sed 's/, $//').$hint"
}

check_option_types() {
  local wrong
  wrong=$(options_not_of_type string "${WHARF_STRING_OPTIONS[@]}")
  [[ -z $wrong ]] || config_error "option(s) $wrong must be text: quote the value in pipeline.yml"
  wrong=$(options_not_of_type boolean "${WHARF_BOOLEAN_OPTIONS[@]}")
  [[ -z $wrong ]] || config_error "option(s) $wrong must be true or false"
}

# options_not_of_type TYPE OPTION… prints those of the options given whose value is not a TYPE.
options_not_of_type() {
  local type=$1
  shift
  jq -r --arg type "$type" --args '[to_entries[] | select(.key | IN($ARGS.positional[]))
      | select(.value | type != $type) | .key] | join(", ")' <<<"$WHARF_CONFIG" "$@"
}

# The plugin reads the variable token-env names itself (wharf never sees the name), and a value
# that is no variable name is most likely the token pasted in: refused without printing it.
check_token_env_name() {
  local name
  name=$(config_string token-env)
  if [[ -n $name && ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    config_error "token-env must be the NAME of an environment variable (letters, digits, _)," \
      "such as SHOP_WHARF_TOKEN, not the token itself"
  fi
}

# The option's text, or nothing when it is absent or empty (an interpolated "${VAR}" that came
# out empty counts as not given).
config_string() {
  jq -r --arg key "$1" '.[$key] // empty' <<<"$WHARF_CONFIG"
}

config_flag() {
  jq -e --arg key "$1" '.[$key] == true' <<<"$WHARF_CONFIG" >/dev/null
}

# Names the annotation context and the meta-data keys.
service_name() {
  local name
  name=$(config_string service)
  echo "${name:-$(config_string ci-name)}"
}
