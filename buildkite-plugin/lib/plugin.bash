# shellcheck shell=bash
# The plugin's run: read the configuration, run wharf (which checks it), then annotate and set
# meta-data from its JSON outcome, or report its error in the plugin's option names.

wharf_plugin_main() {
  require_jq
  load_config
  local service
  service=$(service_name)
  if ! has_token; then
    if ! config_flag keyless; then
      skip_or_fail_without_token "$service"
      return 0
    fi
    echo "--- :key: wharf: no token in $(token_variable): logging in keyless with this job's OIDC identity token"
  fi
  local wharf
  wharf=$(wharf_binary)
  build_wharf_args
  echo "--- :whale: wharf: registering $(config_string image) for $(config_string project)/$service"
  printf 'Running:'
  printf ' %q' "$wharf" "${WHARF_ARGS[@]}"
  printf '\n'
  local outcome status=0
  outcome=$(run_wharf "$wharf") || status=$?
  if ((status == 0)) && ! jq -e 'type == "object"' <<<"$outcome" >/dev/null 2>&1; then
    echo "wharf plugin: wharf succeeded but printed no JSON outcome" >&2
    status=1
  fi
  if ((status != 0)); then
    echo "^^^ +++"
    echo "wharf plugin: wharf failed with exit code $status" >&2
    local message
    message=$(jq -r '.error.message // empty' <<<"$outcome" 2>/dev/null || true)
    [[ -z $message ]] || message=$(in_plugin_terms "$message")
    [[ -z $message ]] || printf 'wharf plugin: %s\n' "$message" >&2
    annotate error "$service" "$(failure_markdown "$service" "$status" "$message")"
    return "$status"
  fi
  local markdown
  markdown=$(outcome_markdown "$outcome" "$(config_string image)" "$service")
  printf '%s\n' "$markdown"
  annotate "$(outcome_style "$outcome")" "$service" "$markdown"
  if ! jq -e '.dryRun' <<<"$outcome" >/dev/null; then
    set_outcome_metadata "$service" "$outcome"
  fi
}

skip_or_fail_without_token() {
  local service=$1
  config_flag skip-without-credentials || config_error "$(missing_token_message)"
  echo "+++ :warning: wharf: skipped registering $service: $(token_variable) is unset or empty"
  annotate warning "$service" "$(skipped_markdown "$service" "$(token_variable)")"
}
