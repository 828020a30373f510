# shellcheck shell=bash
# Build meta-data for later steps (`buildkite-agent meta-data get wharf-artifact-id-api`).

# set_outcome_metadata SERVICE OUTCOME_JSON
set_outcome_metadata() {
  local service=$1 outcome=$2
  set_metadata_from "wharf-artifact-id-$service" artifactId "$outcome"
  set_metadata_from "wharf-image-$service" artifactUri "$outcome"
  set_metadata_from "wharf-routed-to-$service" routedTo "$outcome"
  set_metadata_from "wharf-digest-$service" digest "$outcome"
}

# set_metadata_from KEY FIELD OUTCOME_JSON: sets KEY to the outcome's FIELD, if it has one.
set_metadata_from() {
  local key=$1 field=$2 outcome=$3 value
  value=$(jq -r --arg field "$field" '.[$field] // empty' <<<"$outcome")
  [[ -z $value ]] && return 0
  if ! buildkite-agent meta-data set "$key" "$value"; then
    printf 'wharf plugin: could not set the build meta-data %s\n' "$key" >&2
    return 1
  fi
}
