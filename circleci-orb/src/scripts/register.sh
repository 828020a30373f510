#!/usr/bin/env bash
# Registers an image with the wharf control plane: the orb's `register` command.
#
# CircleCI inlines this file into the command's `run` step. Parameters arrive as PARAM_*
# environment variables, never spliced into the code. `token` is an env_var_name parameter:
# PARAM_TOKEN_ENV holds the NAME of the variable with the secret, which goes to wharf through
# its environment only.
set -euo pipefail

fail() {
  printf 'wharf/register: %s\n' "$*" >&2
  exit 2
}

# `$NAME` and `${NAME}` in string parameters expand from the job's environment, as
# `circleci env subst` would. Nothing else is interpreted: no commands, no globbing.
expand_vars() {
  local rest=$1 out="" name
  while [[ $rest == *'$'* ]]; do
    out+=${rest%%\$*}
    rest=${rest#*\$}
    if [[ $rest =~ ^\{([A-Za-z_][A-Za-z0-9_]*)\}(.*)$ || $rest =~ ^([A-Za-z_][A-Za-z0-9_]*)(.*)$ ]]; then
      name=${BASH_REMATCH[1]}
      out+=${!name:-}
      rest=${BASH_REMATCH[2]}
    else
      out+='$'
    fi
  done
  printf '%s' "$out$rest"
}

param() {
  expand_vars "${!1:-}"
}

require_boolean() {
  local name=$1 value=$2
  [[ $value == true || $value == false ]] ||
    fail "parameter '$name' must be true or false, got '$value'"
}

# The variable the token parameter names, checked to be a name (a token pasted there is refused
# unprinted). Its value, if any, goes to wharf as WHARF_TOKEN; without one, wharf decides: a
# keyless login with CIRCLE_OIDC_TOKEN_V2 (a job with a context), else an error naming it.
read_token() {
  local name=${PARAM_TOKEN_ENV:-}
  [[ -n $name ]] || fail "parameter 'token' is empty: give the name of the variable holding the token, e.g. WHARF_TOKEN"
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] ||
    fail "parameter 'token' must be the NAME of an environment variable (e.g. WHARF_TOKEN), not the token itself"
  WHARF_REGISTER_TOKEN_VARIABLE=$name
  WHARF_REGISTER_TOKEN=${!name:-}
}

read_username() {
  WHARF_REGISTER_USERNAME=$(param PARAM_USERNAME)
  WHARF_REGISTER_USERNAME=${WHARF_REGISTER_USERNAME:-${WHARF_USERNAME:-}}
}

check_tools() {
  command -v wharf >/dev/null ||
    fail "wharf is not on PATH: run the wharf/install command before wharf/register"
  command -v jq >/dev/null ||
    fail "jq is not on PATH: use the orb's default executor (cimg/base) or install jq first"
}

# Fills WHARF_REGISTER_ARGS with wharf's command line. Nothing secret goes in it. wharf checks
# the values (required ones, at most one of git-ref, environment and release-stream); its
# message names the parameters (WHARF_OPTION_NAMES).
build_args() {
  local push=${PARAM_PUSH:-false} require_route=${PARAM_REQUIRE_ROUTE:-false} dry_run=${PARAM_DRY_RUN:-false}
  require_boolean push "$push"
  require_boolean require-route "$require_route"
  require_boolean dry-run "$dry_run"

  WHARF_REGISTER_ARGS=(--output json)
  add_option --control-plane "$(param PARAM_CONTROL_PLANE_URL)"
  if [[ $push == true ]]; then
    WHARF_REGISTER_ARGS+=(push)
  else
    WHARF_REGISTER_ARGS+=(register)
  fi
  add_option --project "$(param PARAM_PROJECT)"
  add_option --service "$(param PARAM_SERVICE)"
  add_option --ci-name "$(param PARAM_CI_NAME)"
  add_option --image "$(param PARAM_IMAGE)"
  add_option --file "$(param PARAM_FILE)"
  add_option --git-ref "$(param PARAM_GIT_REF)"
  add_option --environment "$(param PARAM_ENVIRONMENT)"
  add_option --release-stream "$(param PARAM_RELEASE_STREAM)"
  add_option --registry "$(param PARAM_REGISTRY)"
  add_option --external-id "$(param PARAM_EXTERNAL_ID)"
  add_option --description "$(param PARAM_DESCRIPTION)"
  [[ $require_route == false ]] || WHARF_REGISTER_ARGS+=(--require-route)
  [[ $dry_run == false ]] || WHARF_REGISTER_ARGS+=(--dry-run)
}

add_option() {
  [[ -z $2 ]] || WHARF_REGISTER_ARGS+=("$1" "$2")
}

prepare_outcome_file() {
  WHARF_REGISTER_OUTCOME=$(param PARAM_OUTCOME_FILE)
  [[ -n $WHARF_REGISTER_OUTCOME ]] || fail "parameter 'outcome-file' is empty: give a path for the JSON outcome"
  mkdir -p "$(dirname "$WHARF_REGISTER_OUTCOME")" ||
    fail "parameter 'outcome-file': cannot create the directory of $WHARF_REGISTER_OUTCOME"
}

# wharf's flags and variables as the orb's parameters, so wharf's messages name them.
option_names() {
  local names="project,service,ci-name,image,file,git-ref,environment,release-stream,registry"
  names+=",external-id,description,require-route,dry-run,control-plane=control-plane-url,username"
  names+=",WHARF_TOKEN=$(token_said_as)"
  echo "$names"
}

# What wharf's messages call the token: the variable the `token` parameter names when that
# looks like a variable name (upper case), else the parameter: a lower-case "name" may be the
# secret itself, given where its variable's name belongs, and is never printed.
token_said_as() {
  local name=$WHARF_REGISTER_TOKEN_VARIABLE
  if [[ ${#name} -le 64 && $name =~ ^[A-Z_][A-Z0-9_]*$ ]]; then
    echo "$name"
  else
    echo token
  fi
}

run_wharf() {
  local status=0
  (
    if [[ -n $WHARF_REGISTER_TOKEN ]]; then export WHARF_TOKEN=$WHARF_REGISTER_TOKEN; else unset WHARF_TOKEN; fi
    WHARF_USERNAME=$WHARF_REGISTER_USERNAME WHARF_OPTION_NAMES=$(option_names) \
      exec wharf "${WHARF_REGISTER_ARGS[@]}" --summary-file "$WHARF_REGISTER_OUTCOME.md" >"$WHARF_REGISTER_OUTCOME"
  ) || status=$?
  return "$status"
}

outcome_field() {
  jq -r "$1 // empty" "$WHARF_REGISTER_OUTCOME"
}

# Later steps of the job read these: CircleCI sources $BASH_ENV at the start of each step.
export_outputs() {
  if [[ -z ${BASH_ENV:-} ]]; then
    echo "wharf/register: BASH_ENV is not set, so later steps get no WHARF_* variables" >&2
    return 0
  fi
  {
    printf 'export WHARF_ARTIFACT_ID=%q\n' "$(outcome_field .artifactId)"
    printf 'export WHARF_ROUTED_TO=%q\n' "$(outcome_field '.routedTo // .predictedRoute')"
    printf 'export WHARF_DIGEST=%q\n' "$(outcome_field .digest)"
    printf 'export WHARF_OUTCOME_FILE=%q\n' "$WHARF_REGISTER_OUTCOME"
  } >>"$BASH_ENV"
}

# wharf's own report of the outcome, in the log.
print_summary() {
  cat "$WHARF_REGISTER_OUTCOME.md"
  echo "wharf: outcome written to $WHARF_REGISTER_OUTCOME"
}

main() {
  check_tools
  read_username
  read_token
  build_args
  prepare_outcome_file
  local status=0
  run_wharf || status=$?
  if ((status != 0)); then
    local kind
    kind=$(outcome_field .error.kind 2>/dev/null) || true
    echo "wharf/register: wharf exited with $status${kind:+ ($kind)}; the outcome is in $WHARF_REGISTER_OUTCOME" >&2
    exit "$status"
  fi
  export_outputs
  print_summary
}

main "$@"
