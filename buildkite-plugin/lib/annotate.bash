# shellcheck shell=bash
# One annotation per service (context `wharf-<service>`), replaced when the step runs again. Its
# text is wharf's own Markdown report (`--summary-file`); the plugin picks only the style:
# success when routed, warning when unclassified or skipped, info for a dry run, error when
# wharf failed.

# annotate STYLE SERVICE MARKDOWN. An annotation that cannot be made does not fail the step: the
# registration itself succeeded or failed already.
annotate() {
  local style=$1 service=$2 markdown=$3
  if ! printf '%s\n' "$markdown" |
    buildkite-agent annotate --style "$style" --context "wharf-$service"; then
    echo "wharf plugin: warning: could not annotate the build" >&2
  fi
}

# outcome_style OUTCOME_JSON
outcome_style() {
  jq -r 'if .skipped then "warning" elif .dryRun then "info" elif .classified then "success"
         else "warning" end' <<<"$1"
}

# report_or_log_pointer REPORT_FILE EXIT_CODE: wharf's report of its failure; a wharf that wrote
# none (it could not start, or was killed) is pointed to in the job log.
report_or_log_pointer() {
  if [[ -s $1 ]]; then
    cat "$1"
  else
    printf 'wharf exited with code %s and wrote no report; see the job log.\n' "$2"
  fi
}
