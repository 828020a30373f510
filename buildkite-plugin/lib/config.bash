# shellcheck shell=bash
# The plugin's configuration, read as the docker-compose plugin reads its own: the agent puts
# each option of the step's `wharf-dev/wharf#…:` mapping in BUILDKITE_PLUGIN_WHARF_<OPTION>
# (upper case, '-' as '_', booleans as true/false), and plugin.yml gives their types. The plugin
# checks only what it maps itself: option names (a typo would never reach wharf), switches, and
# that token-env names a variable. Everything else is wharf's to check, in the plugin's names.

WHARF_STRING_OPTIONS=(
  control-plane-url username token-env project service ci-name image file git-ref environment
  release-stream registry external-id description platform tag wharf-path version oidc-audience
)
WHARF_BOOLEAN_OPTIONS=(push require-route dry-run skip-without-credentials keyless)
# The plugin's own release: the wharf it installs unless `version` says otherwise. It moves
# with the workspace's version, the action's and the orb's (install/tests/versions.bats).
# shellcheck disable=SC2034 # read by wharf.bash, which the hook sources after this file
WHARF_PLUGIN_RELEASE=v0.1.0
WHARF_OPTION_PREFIX=BUILDKITE_PLUGIN_WHARF_

config_error() {
  printf 'wharf plugin: %s\n' "$*" >&2
  exit 2
}

require_jq() {
  command -v jq >/dev/null 2>&1 ||
    config_error "jq is not installed on this agent; the plugin needs it to read wharf's outcome"
}

load_config() {
  check_option_names
  check_switches
  check_token_env_name
}

# option_variable OPTION: the variable the agent sets for it.
option_variable() {
  local name=${1^^}
  echo "$WHARF_OPTION_PREFIX${name//-/_}"
}

# plugin_read_config OPTION [DEFAULT]: the option's text, or DEFAULT when it is absent or empty
# (an interpolated "${VAR}" that came out empty counts as not given).
plugin_read_config() {
  local variable
  variable=$(option_variable "$1")
  echo "${!variable:-${2:-}}"
}

config_string() {
  plugin_read_config "$1"
}

config_flag() {
  [[ $(plugin_read_config "$1" false) == true ]]
}

# Names only, never values: a misplaced secret must not reach the log. Arrays and maps come as
# OPTION_0, OPTION_FOO: their first part is the option.
check_option_names() {
  local known=() option variable unknown=()
  for option in "${WHARF_STRING_OPTIONS[@]}" "${WHARF_BOOLEAN_OPTIONS[@]}"; do
    known+=("$(option_variable "$option")")
  done
  for variable in $(compgen -v "$WHARF_OPTION_PREFIX"); do
    [[ " ${known[*]} " == *" $variable "* ]] && continue
    option=${variable#"$WHARF_OPTION_PREFIX"}
    option=${option,,}
    unknown+=("${option//_/-}")
  done
  ((${#unknown[@]})) || return 0
  local hint=""
  if [[ " ${unknown[*]} " == *" token "* || " ${unknown[*]} " == *" password "* ]]; then
    hint=" The token never goes in pipeline.yml: provide it as an agent secret or from an"
    hint+=" environment hook, in WHARF_TOKEN or in the variable named by token-env."
  fi
  config_error "unknown option(s): $(printf '%s, ' "${unknown[@]}" | sed 's/, $//'). Valid options:" \
    "$(printf '%s, ' "${WHARF_STRING_OPTIONS[@]}" "${WHARF_BOOLEAN_OPTIONS[@]}" | sed 's/, $//').$hint"
}

check_switches() {
  local option value wrong=()
  for option in "${WHARF_BOOLEAN_OPTIONS[@]}"; do
    value=$(plugin_read_config "$option" false)
    [[ $value == true || $value == false ]] || wrong+=("$option")
  done
  ((${#wrong[@]} == 0)) || config_error "option(s) $(printf '%s, ' "${wrong[@]}" | sed 's/, $//') must be true or false"
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

# Names the annotation context and the meta-data keys.
service_name() {
  local name
  name=$(config_string service)
  echo "${name:-$(config_string ci-name)}"
}
