# shellcheck shell=bash
# The token: read from WHARF_TOKEN or the variable token-env names, handed to wharf through its
# environment only. It is never put on a command line and never printed.

token_variable() {
  local name
  name=$(config_string token-env)
  echo "${name:-WHARF_TOKEN}"
}

has_token() {
  local name
  name=$(token_variable)
  [[ -n ${!name:-} ]]
}

missing_token_message() {
  local name
  name=$(token_variable)
  if [[ $name == WHARF_TOKEN ]]; then
    echo "no token: WHARF_TOKEN is unset or empty. Provide it as an agent secret or from an" \
      "environment hook, or name the variable that holds it with token-env"
  else
    echo "no token: $name (named by token-env) is unset or empty. Provide it as an agent secret" \
      "or from an environment hook, or fix token-env"
  fi
}
