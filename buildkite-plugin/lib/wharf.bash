# shellcheck shell=bash
# Installs wharf (or takes the one wharf-path names), maps the configuration to wharf's command
# line and runs wharf.

WHARF_PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Options whose name is also wharf's flag (`--<option>=VALUE`, or `--<option>` for the switches).
WHARF_REGISTER_OPTIONS=(
  project service ci-name image git-ref environment release-stream registry external-id
  description tag platform
)
WHARF_REGISTER_SWITCHES=(push require-route dry-run)

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

# Fills WHARF_ARGS. Values go as `--flag=VALUE` so one starting with '-' stays a value.
build_wharf_args() {
  WHARF_ARGS=(--output json)
  local option value
  value=$(config_string control-plane-url)
  [[ -z $value ]] || WHARF_ARGS+=("--control-plane=$value")
  WHARF_ARGS+=(register)
  for option in "${WHARF_REGISTER_OPTIONS[@]}"; do
    value=$(config_string "$option")
    [[ -z $value ]] || WHARF_ARGS+=("--$option=$value")
  done
  for option in "${WHARF_REGISTER_SWITCHES[@]}"; do
    if config_flag "$option"; then WHARF_ARGS+=("--$option"); fi
  done
}

# run_wharf WHARF: runs it with WHARF_ARGS; stdout is wharf's JSON outcome, stderr its log.
# Without a token (keyless), wharf asks `buildkite-agent oidc request-token` for an identity
# token with the audience oidc-audience (default wharf) and trades it for a short-lived one.
run_wharf() {
  local wharf=$1 token_variable username audience
  token_variable=$(token_variable)
  username=$(config_string username)
  audience=$(config_string oidc-audience)
  (
    export WHARF_TOKEN="${!token_variable:-}"
    if [[ -n $username ]]; then export WHARF_USERNAME="$username"; fi
    if [[ -n $audience ]]; then export WHARF_OIDC_AUDIENCE="$audience"; fi
    exec "$wharf" "${WHARF_ARGS[@]}"
  )
}

# in_plugin_terms MESSAGE: wharf's message, which names wharf's flags and WHARF_* variables,
# with each replaced by the plugin option it comes from ("--git-ref" and "WHARF_GIT_REF" both
# become 'git-ref'), and "pass 'x' or set 'x'" said once.
in_plugin_terms() {
  jq -rn --arg message "$1" --args '
    def quoted: "\u0027\(.)\u0027";
    def variable: "WHARF_\(ascii_upcase | gsub("-"; "_"))";
    reduce ($ARGS.positional[] | split("=")) as [$option, $flag] ($message;
      gsub("(--\($flag // $option)|\($option | variable))(?![A-Za-z0-9_-])"; $option | quoted))
    | gsub("pass (?<o>\u0027[a-z-]+\u0027)( [A-Z]+)?(?<or> [(]or [^)]*[)])? or set \\k<o>";
        "set \(.o)\(.or // "")")' \
    "${WHARF_REGISTER_OPTIONS[@]}" "${WHARF_REGISTER_SWITCHES[@]}" control-plane-url=control-plane username
}
