#!/usr/bin/env python3
"""Runs a composite action's steps the way the GitHub runner does, for the action's tests.

Usage: run-composite.py ACTION_YML INPUTS_JSON OUTPUTS_JSON

Inputs get their defaults, `${{ inputs.* }}`, `${{ github.action_path }}`, `${{ github.token }}`,
`${{ github.api_url }}` and `${{ steps.<id>.outputs.<name> }}` are expanded (any other
expression is an error, so the test notices what it does not simulate), and each `run:` goes
to `bash --noprofile --norc -eo pipefail`, as `shell: bash` does, with its own GITHUB_OUTPUT
file. The action's outputs are written to OUTPUTS_JSON; the exit code is the failed step's.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from ruamel.yaml import YAML

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def expand(text, context):
    def one(match):
        name = match.group(1)
        if name not in context:
            raise SystemExit(f"run-composite: unsupported expression ${{{{ {name} }}}}")
        return context[name]

    return EXPRESSION.sub(one, str(text))


def read_outputs(path):
    outputs, lines = {}, open(path).read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
            i += 1
    return outputs


def main(action_yml, inputs_json, outputs_json):
    action = YAML(typ="safe").load(open(action_yml))
    given = json.loads(open(inputs_json).read())
    unknown = set(given) - set(action["inputs"])
    if unknown:
        raise SystemExit(f"run-composite: unexpected inputs {sorted(unknown)}")
    context = {
        "github.action_path": os.path.dirname(os.path.abspath(action_yml)),
        "github.token": os.environ.get("GITHUB_TOKEN", ""),
        "github.api_url": os.environ.get("GITHUB_API_URL", "https://api.github.com"),
    }
    for name, spec in action["inputs"].items():
        if spec.get("required") and name not in given:
            # The runner only warns; the action itself must then refuse the empty value.
            print(f"::warning::Input required and not supplied: {name}")
        value = given.get(name, spec.get("default", ""))
        context[f"inputs.{name}"] = expand(value, context)
    for step in action["runs"]["steps"]:
        env = dict(os.environ)
        for key, value in (step.get("env") or {}).items():
            env[key] = expand(value, context)
        with tempfile.NamedTemporaryFile(delete=False) as output:
            env["GITHUB_OUTPUT"] = output.name
        script = expand(step["run"], context)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], env=env
        )
        if done.returncode != 0:
            print(f"run-composite: step '{step.get('name')}' failed with {done.returncode}")
            return done.returncode
        if "id" in step:
            for name, value in read_outputs(output.name).items():
                context[f"steps.{step['id']}.outputs.{name}"] = value
    outputs = {}
    for name, spec in action.get("outputs", {}).items():
        try:
            outputs[name] = expand(spec["value"], context)
        except SystemExit:
            outputs[name] = ""
    json.dump(outputs, open(outputs_json, "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
