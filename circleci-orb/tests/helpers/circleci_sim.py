#!/usr/bin/env python3
"""Runs a job or command of a packed orb.yml the way a CircleCI build agent would.

    circleci_sim.py ORB_YML (--job NAME | --command NAME) [--param NAME=VALUE]...
                    [--artifacts DIR] [--cache DIR]

A test double for CircleCI, which cannot run here. It does what the agent does with the orb's
steps and nothing more: fills in parameter defaults, checks required parameters and types,
replaces `<< parameters.x >>`, expands the orb's own commands, and runs each `run` step with
`/bin/bash -eo pipefail` in the caller's environment plus the step's `environment:`. BASH_ENV
carries exports from one step to the next, as on CircleCI. `store_artifacts` copies the path
into --artifacts. `save_cache` keeps its paths in --cache under the key (`{{ arch }}` filled
in), unless the key is there already; `restore_cache` restores the newest entry whose key
starts with one of its keys, in order; without --cache both do nothing. The first failing step
stops the job with its exit status.
"""

import argparse
import os
import re
import shutil
import platform
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

PARAMETER = re.compile(r"<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>")
ENV_VAR_NAME = re.compile(r"^[a-zA-Z][\w]*$")
CACHE_TEMPLATE = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")


class ConfigError(Exception):
    """What CircleCI would refuse while compiling the config."""


def render_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(node, params):
    if isinstance(node, dict):
        return {key: substitute(value, params) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute(item, params) for item in node]
    if isinstance(node, str):
        def lookup(match):
            name = match.group(1)
            if name not in params:
                raise ConfigError(f"unknown parameter {name!r} in {node!r}")
            return params[name]

        whole = PARAMETER.fullmatch(node.strip())
        if whole:
            return lookup(whole)
        return PARAMETER.sub(lambda match: render_value(lookup(match)), node)
    return node


def coerce(name, spec, value):
    kind = spec.get("type", "string")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ConfigError(f"parameter {name!r} must be a boolean, got {value!r}")
    if kind == "env_var_name" and not ENV_VAR_NAME.match(str(value)):
        raise ConfigError(f"parameter {name!r} must be an environment variable name, got {value!r}")
    if kind == "enum" and value not in spec.get("enum", []):
        raise ConfigError(f"parameter {name!r} must be one of {spec.get('enum')}, got {value!r}")
    return value


def bind_parameters(definition, given, what):
    declared = definition.get("parameters") or {}
    unknown = set(given) - set(declared)
    if unknown:
        raise ConfigError(f"{what}: unknown parameters {sorted(unknown)}")
    bound = {}
    for name, spec in declared.items():
        if name in given:
            bound[name] = coerce(name, spec, given[name])
        elif "default" in spec:
            bound[name] = coerce(name, spec, spec["default"])
        else:
            raise ConfigError(f"{what}: required parameter {name!r} is missing")
    return bound


class Agent:
    def __init__(self, orb, artifacts, cache=None):
        self.orb = orb
        self.artifacts = artifacts
        self.cache = Path(cache) if cache else None

    def run_job(self, name, given):
        job = self.orb["jobs"][name]
        params = bind_parameters(job, given, f"job {name}")
        return self.run_steps(substitute(job["steps"], params))

    def run_command(self, name, given):
        command = self.orb["commands"][name]
        params = bind_parameters(command, given, f"command {name}")
        return self.run_steps(substitute(command["steps"], params))

    def run_steps(self, steps):
        for step in steps:
            status = self.run_step(step)
            if status != 0:
                return status
        return 0

    def run_step(self, step):
        if isinstance(step, str):
            step = {step: {}}
        (kind, args), = step.items()
        if kind == "run":
            return self.run_shell(args)
        if kind == "store_artifacts":
            return self.store_artifacts(args)
        if kind == "save_cache":
            return self.save_cache(args)
        if kind == "restore_cache":
            return self.restore_cache(args)
        if kind in self.orb.get("commands", {}):
            return self.run_command(kind, {k: v for k, v in (args or {}).items()})
        raise ConfigError(f"step {kind!r} is not supported by this simulator")

    def run_shell(self, args):
        if isinstance(args, str):
            args = {"command": args}
        environment = dict(os.environ)
        environment.update({key: render_value(value) for key, value in (args.get("environment") or {}).items()})
        print(f"==> {args.get('name', 'run')}", flush=True)
        shell = (args.get("shell") or "/bin/bash -eo pipefail").split()
        return subprocess.run([*shell, "-c", args["command"]], env=environment).returncode

    def store_artifacts(self, args):
        source = Path(os.path.expanduser(args["path"]))
        if not source.exists():
            print(f"==> store_artifacts: no file at {source}, nothing uploaded", flush=True)
            return 0
        if self.artifacts:
            target = Path(self.artifacts) / args.get("destination", source.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
        print(f"==> store_artifacts: {source}", flush=True)
        return 0


    def cache_key(self, template):
        def one(match):
            if match.group(1) != "arch":
                raise ConfigError(f"cache key template {match.group(0)!r} is not supported by this simulator")
            return f"arch1-{platform.system().lower()}-{platform.machine()}"

        return CACHE_TEMPLATE.sub(one, template)

    def save_cache(self, args):
        key = self.cache_key(args["key"])
        if self.cache is None or (self.cache / key).exists():
            print(f"==> save_cache: {key} not saved", flush=True)
            return 0
        for path in args["paths"]:
            source = Path(os.path.expanduser(path))
            if source.exists():
                shutil.copytree(source, self.cache / key / source.relative_to("/"), symlinks=True)
        print(f"==> save_cache: {key}", flush=True)
        return 0

    def restore_cache(self, args):
        keys = [self.cache_key(key) for key in args.get("keys") or [args["key"]]]
        saved = sorted(self.cache.iterdir(), key=lambda entry: entry.stat().st_mtime) if self.cache and self.cache.is_dir() else []
        for prefix in keys:
            found = [entry for entry in saved if entry.name.startswith(prefix)]
            if found:
                shutil.copytree(found[-1], "/", symlinks=True, dirs_exist_ok=True)
                print(f"==> restore_cache: {found[-1].name}", flush=True)
                return 0
        print(f"==> restore_cache: no cache for {keys}", flush=True)
        return 0


def parse_params(pairs):
    params = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator:
            raise ConfigError(f"--param {pair!r}: expected NAME=VALUE")
        params[name] = value
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("orb")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--job")
    which.add_argument("--command")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--artifacts")
    parser.add_argument("--cache")
    args = parser.parse_args(argv)
    orb = YAML(typ="safe").load(Path(args.orb))
    agent = Agent(orb, args.artifacts, args.cache)
    try:
        params = parse_params(args.param)
        if args.job:
            return agent.run_job(args.job, params)
        return agent.run_command(args.command, params)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 78


if __name__ == "__main__":
    sys.exit(main())
