# shellcheck shell=bash disable=SC2016
# One annotation per service (context `wharf-<service>`), replaced when the step runs again.
# (Markdown: the backticks in single quotes are literal on purpose.)
# Style: success when routed, warning when unclassified or skipped, info for a dry run, error
# when wharf failed.

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
  jq -r 'if .dryRun then "info" elif .classified then "success" else "warning" end' <<<"$1"
}

# outcome_markdown OUTCOME_JSON SOURCE_IMAGE SERVICE: what was registered, where it went, under
# which ids.
outcome_markdown() {
  jq -r --arg source "$2" --arg service "$3" '
    def code: "`\(.)`";
    if .dryRun then
      "#### wharf: dry run for \($service | code)",
      "Would register \(.request.artifactUri | code) in project \(.request.blueprintName | code); " +
        (if .predictedRoute then "probably routed to **\(.predictedRoute)** (rule \(.predictedRule | code))."
         else "probably unclassified: no routing rule matches." end),
      "Nothing was written."
    else
      (if .classified then "#### wharf: \($service | code) routed to \(.routedTo | code)"
       else "#### wharf: \($service | code) registered unclassified" end),
      (if .digest then "Pushed \($source | code) and registered the copy \(.artifactUri | code) in project \(.project | code)."
       else "Registered \(.artifactUri | code) in project \(.project | code)." end),
      "",
      (if .classified then "- Routed to: **\(.routedTo)** by rule \(.ruleName | code)"
       else "- Routed to: nowhere. No routing rule matched \(.registeredBy) \(.registeredValue | code); the build will not deploy until a rule routes it (or register it with `environment`)." end),
      "- Artifact id: \(.artifactId | code)",
      (.externalId // empty | "- External id: \(code)"),
      (.digest // empty | "- Digest: \(code)"),
      (if .digest then "- Copied: \(.blobsUploaded) blob(s) uploaded (\(.bytesUploaded) bytes), \(.blobsSkipped) already there, \(.blobsMounted) mounted" else empty end),
      "- Control plane: \(.controlPlane)",
      (if .replayed then "- Already registered by an earlier run of this build: nothing new was written." else empty end)
    end' <<<"$1"
}

# failure_markdown SERVICE EXIT_CODE MESSAGE_OR_EMPTY: wharf's error message, in the plugin's terms.
failure_markdown() {
  local service=$1 status=$2 message=$3
  printf '#### wharf: registering `%s` failed (exit %s)\n' "$service" "$status"
  if [[ -n $message ]]; then
    printf '```\n%s\n```\n' "$message"
  else
    echo "wharf printed no error report; see the job log."
  fi
}

# skipped_markdown SERVICE TOKEN_VARIABLE
skipped_markdown() {
  printf '#### wharf: `%s` not registered\n' "$1"
  printf '`%s` is unset or empty and `skip-without-credentials` is on, so registration was skipped.\n' "$2"
  echo "Builds of forks get no secrets; any other build should have the token: check the agent's secrets."
}
