# shellcheck shell=bash
# Installs wharf (or takes the one wharf-path names), maps the configuration to wharf's command
# line and runs wharf.

WHARF_PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Options whose name is also wharf's flag (`--<option>=VALUE`, or `--<option>` for the switches).
WHARF_REGISTER_OPTIONS=(
  project service ci-name image file git-ref environment release-stream registry external-id
  description tag platform
)
WHARF_REGISTER_SWITCHES=(push require-route dry-run skip-without-credentials)

# The wharf to run: the one wharf-path names, or the release `version` names (default: the
# plugin's own), installed by the installer the plugin shares with the action and the orb. It
# checks the archive against the plugin's checksums.txt and keeps it in ~/.cache/wharf.
wharf_binary() {
  local path version
  path=$(config_string wharf-path)
  version=$(config_string version)
  if [[ -n $path ]]; then
    [[ -z $version ]] ||
      config_error "give wharf-path or version, not both: wharf-path runs a wharf already on the agent"
    [[ -x $path && ! -d $path ]] ||
      config_error "wharf-path '$path' is not an executable file: fix wharf-path, or remove it to install wharf $WHARF_PLUGIN_RELEASE"
    echo "$path"
    return
  fi
  version=${version:-$WHARF_PLUGIN_RELEASE}
  echo "--- :package: wharf: installing wharf $version" >&2
  WHARF_INSTALL_VERSION=$version WHARF_INSTALL_BINARY=wharf \
    WHARF_INSTALL_CHECKSUMS=$WHARF_PLUGIN_DIR/checksums.txt \
    WHARF_INSTALL_SOURCE="https://github.com/wharf-dev/wharf#$WHARF_PLUGIN_RELEASE" \
    "$WHARF_PLUGIN_DIR/lib/install.sh"
}

# build_wharf_args SUMMARY_FILE: fills WHARF_ARGS. Values go as `--flag=VALUE` so one starting
# with '-' stays a value. wharf writes its Markdown report (the annotation) to SUMMARY_FILE.
build_wharf_args() {
  WHARF_ARGS=(--output json)
  local option value
  value=$(config_string control-plane-url)
  [[ -z $value ]] || WHARF_ARGS+=("--control-plane=$value")
  WHARF_ARGS+=(register "--summary-file=$1")
  for option in "${WHARF_REGISTER_OPTIONS[@]}"; do
    value=$(config_string "$option")
    [[ -z $value ]] || WHARF_ARGS+=("--$option=$value")
  done
  for option in "${WHARF_REGISTER_SWITCHES[@]}"; do
    if config_flag "$option"; then WHARF_ARGS+=("--$option"); fi
  done
}

# wharf's flags and variables as the plugin's options, for wharf's messages (WHARF_OPTION_NAMES):
# each option that is wharf's flag, the two that are not, and the token's variable when
# token-env renames it.
option_names() {
  local names token_variable
  names=$(printf '%s,' "${WHARF_REGISTER_OPTIONS[@]}" "${WHARF_REGISTER_SWITCHES[@]}")
  names+="control-plane=control-plane-url,username,oidc-audience"
  token_variable=$(token_variable)
  [[ $token_variable == WHARF_TOKEN ]] || names+=",WHARF_TOKEN=$token_variable"
  echo "$names"
}

# run_wharf WHARF: runs it with WHARF_ARGS; stdout is wharf's JSON outcome, stderr its log and
# its error, in the plugin's option names. Without a token, wharf decides: a keyless login when
# `keyless` is on (it asks `buildkite-agent oidc request-token` for an identity token with the
# audience oidc-audience, default wharf), else a skip with skip-without-credentials, else an
# error.
run_wharf() {
  local wharf=$1 token_variable username audience keyless=off
  token_variable=$(token_variable)
  username=$(config_string username)
  audience=$(config_string oidc-audience)
  if config_flag keyless; then keyless=auto; fi
  (
    export WHARF_TOKEN="${!token_variable:-}"
    [[ -n $WHARF_TOKEN ]] || unset WHARF_TOKEN
    if [[ -n $username ]]; then export WHARF_USERNAME="$username"; fi
    if [[ -n $audience ]]; then export WHARF_OIDC_AUDIENCE="$audience"; fi
    WHARF_KEYLESS=$keyless WHARF_OPTION_NAMES=$(option_names) exec "$wharf" "${WHARF_ARGS[@]}"
  )
}
