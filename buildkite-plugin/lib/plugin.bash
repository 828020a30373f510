# shellcheck shell=bash
# The plugin's run: read the configuration, run wharf (which checks it, decides a run without a
# token and words its errors in the plugin's option names), then annotate the build with wharf's
# own Markdown report and set meta-data from its JSON outcome.

wharf_plugin_main() {
  require_jq
  load_config
  local service wharf report
  service=$(service_name)
  wharf=$(wharf_binary)
  report=$(mktemp)
  build_wharf_args "$report"
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
    annotate error "$service" "$(report_or_log_pointer "$report" "$status")"
    rm -f "$report"
    return "$status"
  fi
  cat "$report"
  annotate "$(outcome_style "$outcome")" "$service" "$(cat "$report")"
  rm -f "$report"
  if jq -e '(.dryRun or .skipped) | not' <<<"$outcome" >/dev/null; then
    set_outcome_metadata "$service" "$outcome"
  fi
}
