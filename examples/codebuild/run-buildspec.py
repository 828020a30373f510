#!/usr/bin/env python3
"""Runs a buildspec.yml the way AWS CodeBuild would, on this machine.

    run-buildspec.py BUILDSPEC --parameter-store FILE [--branch B | --tag T]
                     [--commit SHA] [--build-number N] [--project NAME]
                     [--source-dir DIR] [--artifacts DIR] [--exported-variables FILE]

A test double: AWS cannot run here, so this stands in for CodeBuild and for SSM Parameter
Store (FILE is JSON, {"/parameter/name": "value"}). It keeps CodeBuild's semantics that a
buildspec relies on:

- the environment: the caller's (standing in for the project's and start-build's variables,
  which win), then `env.variables` where the caller has none, then `env.parameter-store`
  values; a parameter that does not exist fails the build before any phase runs;
- CodeBuild's own variables (CODEBUILD_BUILD_ID, _BUILD_NUMBER, _BUILD_ARN, _BUILD_URL,
  _RESOLVED_SOURCE_VERSION, _SOURCE_VERSION, _SRC_DIR, _BUILD_SUCCEEDING, and for a webhook
  push _WEBHOOK_TRIGGER, _WEBHOOK_HEAD_REF, _WEBHOOK_EVENT);
- buildspec 0.2: every command of every phase runs in one shell (`env.shell`, default sh),
  so variables exported in one phase are there in the next; a command that fails ends its
  phase; `finally` commands run either way;
- phase transitions: a failed install or pre_build ends the build; a failed build still runs
  post_build (CODEBUILD_BUILD_SUCCEEDING=0) unless the phase says `on-failure: ABORT`;
  `on-failure: CONTINUE` goes on to the next phase; artifacts are collected whatever happened.

Parameter Store values are not masked in the output, unlike CodeBuild's logs, so a test can
prove the buildspec never prints them. Exit status: 0 when the build succeeded, 1 when it
failed, 2 when the buildspec or the options are unusable.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from ruamel.yaml import YAML

PHASES = ("install", "pre_build", "build", "post_build")
REGION = "eu-west-1"
ACCOUNT = "123456789012"


class BuildspecError(Exception):
    """The buildspec or the simulation's options cannot be used."""


class ParameterMissing(Exception):
    """A Parameter Store name that does not exist: CodeBuild fails the build before any phase."""

    def __init__(self, variable, name):
        super().__init__(f"parameter does not exist: {name} (env.parameter-store {variable})")


def log(message):
    print(f"[Container] {message}", flush=True)


def load_buildspec(path):
    try:
        spec = YAML(typ="safe").load(Path(path))
    except Exception as error:  # ruamel raises many kinds; all mean "bad YAML here"
        raise BuildspecError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(spec, dict) or str(spec.get("version")) != "0.2":
        raise BuildspecError(f"{path}: only buildspec version 0.2 is simulated")
    env = spec.get("env") or {}
    if "secrets-manager" in env:
        raise BuildspecError(f"{path}: env.secrets-manager is not simulated; use env.parameter-store")
    unknown = set(spec.get("phases") or {}) - set(PHASES)
    if unknown:
        raise BuildspecError(f"{path}: unknown phases {sorted(unknown)}")
    return spec


def codebuild_variables(args, build_number):
    build_uuid = str(uuid.uuid4())
    build_id = f"{args.project}:{build_uuid}"
    variables = {
        "CODEBUILD_BUILD_ID": build_id,
        "CODEBUILD_BUILD_NUMBER": str(build_number),
        "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{build_id}",
        "CODEBUILD_BUILD_URL": (
            f"https://{REGION}.console.aws.amazon.com/codebuild/home?region={REGION}"
            f"#/builds/{build_id.replace(':', '%3A')}/view/new"
        ),
        "CODEBUILD_BUILD_IMAGE": "aws/codebuild/standard:7.0",
        "CODEBUILD_INITIATOR": "GitHub-Hookshot/simulated",
        "CODEBUILD_SRC_DIR": str(Path(args.source_dir).resolve()),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    if args.commit:
        variables["CODEBUILD_RESOLVED_SOURCE_VERSION"] = args.commit
        variables["CODEBUILD_SOURCE_VERSION"] = args.commit
    if args.branch:
        variables["CODEBUILD_WEBHOOK_TRIGGER"] = f"branch/{args.branch}"
        variables["CODEBUILD_WEBHOOK_HEAD_REF"] = f"refs/heads/{args.branch}"
        variables["CODEBUILD_WEBHOOK_EVENT"] = "PUSH"
    if args.tag:
        variables["CODEBUILD_WEBHOOK_TRIGGER"] = f"tag/{args.tag}"
        variables["CODEBUILD_WEBHOOK_HEAD_REF"] = f"refs/tags/{args.tag}"
        variables["CODEBUILD_WEBHOOK_EVENT"] = "PUSH"
    return variables


def resolve_parameters(names, store_file):
    """Fetches env.parameter-store names, as CodeBuild does with ssm:GetParameters."""
    if not names:
        return {}
    if not store_file:
        raise BuildspecError("the buildspec uses env.parameter-store: give --parameter-store FILE")
    store = json.loads(Path(store_file).read_text())
    values = {}
    for variable, name in names.items():
        if name not in store:
            raise ParameterMissing(variable, name)
        values[variable] = str(store[name])
    return values



def build_environment(spec, args, build_number):
    env_section = spec.get("env") or {}
    environment = {
        name: str(value)
        for name, value in (env_section.get("variables") or {}).items()
        if name not in os.environ
    }
    environment.update(os.environ)
    environment.update(resolve_parameters(env_section.get("parameter-store") or {}, args.parameter_store))
    environment.update(codebuild_variables(args, build_number))
    return environment


class Shell:
    """One shell for the whole build, fed one command at a time, as buildspec 0.2 does."""

    def __init__(self, program, environment, cwd, workdir):
        self.workdir = workdir
        self.count = 0
        # The shell reports each command's exit status on its own pipe, fd `status_fd`.
        status_read, self.status_fd = os.pipe()
        self.process = subprocess.Popen(
            [program], stdin=subprocess.PIPE, env=environment, cwd=cwd, text=True,
            pass_fds=(self.status_fd,),
        )
        os.close(self.status_fd)
        self.status = os.fdopen(status_read)

    def run(self, command):
        self.count += 1
        script = self.workdir / f"command-{self.count}.sh"
        script.write_text(command + "\n")
        # The command reads no stdin of ours, which carries the next commands.
        line = f". '{script}' </dev/null; echo $? >&{self.status_fd}\n"
        try:
            self.process.stdin.write(line)
            self.process.stdin.flush()
        except BrokenPipeError:
            return 255
        answer = self.status.readline()
        if not answer:
            return self.process.wait()
        return int(answer)

    def set(self, name, value):
        self.run(f"export {name}={value}")

    def environment(self):
        dump = self.workdir / "environment"
        if self.run(f"env -0 >'{dump}'") != 0:
            return {}
        pairs = (item.partition("=") for item in dump.read_text().split("\0") if item)
        return {name: value for name, _, value in pairs}

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait()
        self.status.close()


def run_phase(shell, name, phase):
    log(f"Entering phase {name.upper()}")
    status = 0
    for command in phase.get("commands") or []:
        log(f"Running command {command}")
        status = shell.run(command)
        if status != 0:
            log(f"Command did not exit successfully {command} exit status {status}")
            break
    for command in phase.get("finally") or []:
        log(f"Running command {command}")
        finally_status = shell.run(command)
        if finally_status != 0:
            log(f"Command did not exit successfully {command} exit status {finally_status}")
            status = status or finally_status
    state = "SUCCEEDED" if status == 0 else "FAILED"
    log(f"Phase complete: {name.upper()} State: {state}")
    return status == 0


def run_phases(spec, shell):
    phases = spec.get("phases") or {}
    succeeded = True
    for name in PHASES:
        if name not in phases:
            continue
        phase = phases[name] or {}
        if run_phase(shell, name, phase):
            continue
        succeeded = False
        shell.set("CODEBUILD_BUILD_SUCCEEDING", "0")
        on_failure = phase.get("on-failure")
        if on_failure == "CONTINUE":
            continue
        if on_failure == "ABORT" or name in ("install", "pre_build"):
            break
        # A failed build phase still goes on to post_build; a failed post_build ends here.
    return succeeded


def collect_artifacts(spec, source_dir, target):
    files = ((spec.get("artifacts") or {}).get("files")) or []
    log("Entering phase UPLOAD_ARTIFACTS")
    for pattern in files:
        matches = sorted(Path(source_dir).glob(pattern))
        if not matches:
            log(f"Skipping invalid file path {pattern}")
        for match in matches:
            if target:
                destination = Path(target) / match.relative_to(source_dir)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(match, destination)
            log(f"Uploading artifact {match.relative_to(source_dir)}")


def exported_variables(spec, shell):
    names = (spec.get("env") or {}).get("exported-variables") or []
    environment = shell.environment()
    return {name: environment.get(name, "") for name in names}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("buildspec")
    parser.add_argument("--parameter-store", help="JSON file standing in for SSM Parameter Store")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--branch", help="simulate a webhook push to this branch")
    source.add_argument("--tag", help="simulate a webhook push of this tag")
    parser.add_argument("--commit", help="the source commit (CODEBUILD_RESOLVED_SOURCE_VERSION)")
    parser.add_argument("--build-number", type=int, default=1)
    parser.add_argument("--project", default="wharf-example")
    parser.add_argument("--source-dir", default=".")
    parser.add_argument("--artifacts", help="copy the buildspec's artifacts here")
    parser.add_argument("--exported-variables", help="write env.exported-variables here as JSON")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        spec = load_buildspec(args.buildspec)
    except BuildspecError as error:
        print(f"run-buildspec: {error}", file=sys.stderr)
        return 2
    log("Entering phase DOWNLOAD_SOURCE")
    try:
        environment = build_environment(spec, args, args.build_number)
    except ParameterMissing as error:
        log("Phase complete: DOWNLOAD_SOURCE State: FAILED")
        log(f"Phase context status code: Decrypted Variables Error Message: {error}")
        return 1
    except BuildspecError as error:
        print(f"run-buildspec: {error}", file=sys.stderr)
        return 2
    program = shutil.which((spec.get("env") or {}).get("shell") or "sh", path=environment.get("PATH"))
    if not program:
        print("run-buildspec: the buildspec's env.shell is not on PATH", file=sys.stderr)
        return 2
    log("Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED")
    with tempfile.TemporaryDirectory(prefix="codebuild-") as workdir:
        shell = Shell(program, environment, args.source_dir, Path(workdir))
        try:
            succeeded = run_phases(spec, shell)
            if args.exported_variables:
                Path(args.exported_variables).write_text(json.dumps(exported_variables(spec, shell)))
        finally:
            shell.close()
    collect_artifacts(spec, Path(args.source_dir).resolve(), args.artifacts)
    log(f"Build {'SUCCEEDED' if succeeded else 'FAILED'}")
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
