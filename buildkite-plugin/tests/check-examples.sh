#!/usr/bin/env bash
# Validates every `wharf-dev/wharf#…:` plugin configuration in the Markdown examples against the
# schema in plugin.yml, and every example pipeline against Buildkite's pipeline schema, so the
# documentation can never show an option the plugin rejects.
#
#   buildkite-plugin/tests/check-examples.sh [MARKDOWN…]
#
# Default files: buildkite-plugin/README.md and docs/buildkite.md. PYTHON (with ruamel.yaml) and
# CHECK_JSONSCHEMA default to the ones in .ci/venv. Exits non-zero on any invalid example.
set -euo pipefail

PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$PLUGIN_DIR/.." && pwd)
VENV=${WHARF_CI_VENV:-$REPO_ROOT/.ci/venv}
PYTHON=${PYTHON:-$VENV/bin/python}
CHECK_JSONSCHEMA=${CHECK_JSONSCHEMA:-$VENV/bin/check-jsonschema}
[[ -x $PYTHON ]] || PYTHON=python3
[[ -x $CHECK_JSONSCHEMA ]] || CHECK_JSONSCHEMA=check-jsonschema

if (($# == 0)); then
  set -- "$PLUGIN_DIR/README.md" "$REPO_ROOT/docs/buildkite.md"
fi

for file in "$@"; do
  [[ -f $file ]] || { echo "error: no such file: $file" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/examples" "$work/pipelines"

"$PYTHON" - "$PLUGIN_DIR/plugin.yml" "$work" "$@" <<'PY'
"""Writes the plugin's configuration schema and the examples found in Markdown files as JSON."""
import json
import re
import sys
from pathlib import Path

from ruamel.yaml import YAML

PLUGIN_REF = re.compile(r"^wharf-dev/wharf#v\d+\.\d+\.\d+$")
FENCE = re.compile(r"^```yaml\s*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)

plugin_yml, work, *markdown_files = sys.argv[1:]
yaml = YAML(typ="safe", pure=True)
errors = []

schema = yaml.load(Path(plugin_yml).read_text())["configuration"]
schema = {"$schema": "http://json-schema.org/draft-07/schema#", **schema}
Path(work, "schema.json").write_text(json.dumps(schema, indent=2))


def plugin_entries(node):
    """Yields (key, configuration) for every mapping key that references a wharf plugin."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and "wharf" in key and ("#" in key or "/" in key):
                yield key, value
            else:
                yield from plugin_entries(value)
    elif isinstance(node, list):
        for item in node:
            yield from plugin_entries(item)


count = 0
for markdown in markdown_files:
    text = Path(markdown).read_text()
    for block_number, match in enumerate(FENCE.finditer(text), start=1):
        line = text.count("\n", 0, match.start(1)) + 1
        where = f"{markdown}:{line}"
        name = f"{Path(markdown).name}-line{line}"
        try:
            document = yaml.load(match.group(1))
        except Exception as error:  # a broken example is an error, whatever the parser says
            errors.append(f"{where}: not valid YAML: {error}")
            continue
        if isinstance(document, dict) and "steps" in document:
            Path(work, "pipelines", f"{name}.json").write_text(json.dumps(document))
        for number, (key, config) in enumerate(plugin_entries(document), start=1):
            if not PLUGIN_REF.match(key):
                errors.append(f"{where}: plugin reference '{key}' should be like wharf-dev/wharf#v0.1.0")
                continue
            count += 1
            Path(work, "examples", f"{name}-example{number}.json").write_text(json.dumps(config))
            print(f"example: {where} ({key})")

if count == 0:
    errors.append("no wharf-dev/wharf#…: plugin examples found in " + ", ".join(markdown_files))
for error in errors:
    print(f"error: {error}", file=sys.stderr)
sys.exit(1 if errors else 0)
PY

# The check proves nothing if the schema accepts anything: it must refuse an unknown option.
echo '{"project": "shop", "service": "api", "image": "i:1", "no-such-option": true}' \
  >"$work/unknown-option.json"
if "$CHECK_JSONSCHEMA" --schemafile "$work/schema.json" "$work/unknown-option.json" >/dev/null 2>&1; then
  echo "error: the schema in plugin.yml accepts an unknown option: keep additionalProperties: false" >&2
  exit 1
fi

"$CHECK_JSONSCHEMA" --schemafile "$work/schema.json" "$work"/examples/*.json
shopt -s nullglob
pipelines=("$work"/pipelines/*.json)
if ((${#pipelines[@]} > 0)); then
  "$CHECK_JSONSCHEMA" --builtin-schema vendor.buildkite "${pipelines[@]}"
fi
