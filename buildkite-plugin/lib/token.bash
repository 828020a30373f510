# shellcheck shell=bash
# The token: read from WHARF_TOKEN or the variable token-env names, handed to wharf through its
# environment only. It is never put on a command line and never printed.

token_variable() {
  local name
  name=$(config_string token-env)
  echo "${name:-WHARF_TOKEN}"
}
