"""Tests for scripts/pack.py: the packed orb.yml has every part of src/, includes resolved,
valid against CircleCI's schema (check-jsonschema's vendor.circle-ci), and bad sources fail
with an error that names the file.

    .ci/venv/bin/python -m unittest discover -s circleci-orb/tests -p 'test_*.py'
"""

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from ruamel.yaml import YAML

ORB_DIR = Path(__file__).resolve().parent.parent
SRC = ORB_DIR / "src"
REPO = ORB_DIR.parent
sys.path.insert(0, str(ORB_DIR / "scripts"))

import pack  # noqa: E402  (the script under test lives outside any package)

CHECK_JSONSCHEMA = os.environ.get(
    "WHARF_CHECK_JSONSCHEMA", str(REPO / ".ci" / "venv" / "bin" / "check-jsonschema")
)
PARAMETER = re.compile(r"<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>")


def packed_text(src=SRC):
    stream = io.StringIO()
    pack.dump(pack.pack(src), stream)
    return stream.getvalue()


def load(text):
    return YAML(typ="safe").load(text)


def stems(section):
    return sorted(path.stem for path in (SRC / section).iterdir())


def strings_in(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)
    elif isinstance(node, str):
        yield node


class PackedOrb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = packed_text()
        cls.orb = load(cls.text)

    def test_orb_yml_comes_first(self):
        self.assertTrue(self.text.startswith("version: 2.1\n"))
        self.assertEqual(self.orb["display"]["home_url"], "https://github.com/wharf-dev/wharf")
        self.assertIn("description", self.orb)

    def test_every_source_file_is_packed_under_its_name(self):
        for section in ("commands", "jobs", "executors", "examples"):
            with self.subTest(section=section):
                self.assertEqual(sorted(self.orb[section]), stems(section))
        self.assertEqual(sorted(self.orb["commands"]), ["install", "register"])
        self.assertEqual(sorted(self.orb["jobs"]), ["register"])
        self.assertEqual(sorted(self.orb["executors"]), ["default"])

    def script_step(self, command):
        """The command's `run` step whose command is its script."""
        runs = [step["run"] for step in self.orb["commands"][command]["steps"] if "run" in step]
        return next(run for run in runs if run["command"].startswith("#!/usr/bin/env bash\n"))

    def test_includes_are_replaced_by_the_scripts(self):
        for command in ("install", "register"):
            with self.subTest(command=command):
                run = self.script_step(command)
                self.assertEqual(run["command"], (SRC / "scripts" / f"{command}.sh").read_text())
        self.assertNotIn("include(", self.text)

    def test_install_is_the_installer_the_adapters_share_with_the_pins(self):
        run = self.script_step("install")
        self.assertEqual(run["command"], (REPO / "install" / "install.sh").read_text())
        self.assertEqual(run["environment"]["WHARF_INSTALL_PINS"], (REPO / "install" / "checksums.txt").read_text())

    def test_scripts_are_kept_readable_as_literal_blocks(self):
        self.assertEqual(self.text.count("command: |\n            #!/usr/bin/env bash\n"), 2)

    def test_packing_is_deterministic(self):
        self.assertEqual(packed_text(), self.text)

    def test_the_token_is_a_variable_name_never_a_value(self):
        for owner in (self.orb["commands"]["register"], self.orb["jobs"]["register"]):
            token = owner["parameters"]["token"]
            self.assertEqual((token["type"], token["default"]), ("env_var_name", "WHARF_TOKEN"))

    def test_the_job_offers_every_parameter_of_both_commands_unchanged(self):
        job = dict(self.orb["jobs"]["register"]["parameters"])
        self.assertEqual(job.pop("executor")["type"], "executor")
        commands = {}
        for name in ("install", "register"):
            commands.update(self.orb["commands"][name]["parameters"])
        self.assertEqual(job, commands)

    def test_every_parameter_used_is_declared_and_every_declared_one_is_used(self):
        for section in ("commands", "jobs", "executors"):
            for name, definition in self.orb[section].items():
                with self.subTest(f"{section}/{name}"):
                    declared = set(definition.get("parameters") or {})
                    body = {k: v for k, v in definition.items() if k != "parameters"}
                    used = {m for s in strings_in(body) for m in PARAMETER.findall(s)}
                    self.assertEqual(used, declared)

    def test_the_scripts_get_every_param_variable_they_read(self):
        run = self.script_step("register")
        read = set(re.findall(r"\bPARAM_[A-Z0-9_]+", run["command"]))
        self.assertEqual(read, set(run["environment"]))

    def test_the_installer_reads_every_variable_the_command_sets(self):
        run = self.script_step("install")
        read = set(re.findall(r"\bWHARF_INSTALL_[A-Z0-9_]+", run["command"]))
        self.assertLessEqual(set(run["environment"]), read)


class SchemaValidation(unittest.TestCase):
    """check-jsonschema's vendor.circle-ci schema covers orbs too (commands, jobs, executors,
    examples, display), so the packed orb is checked whole; each example's `usage` is a
    config file and is checked on its own."""

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir)

    def validate(self, document):
        path = self.dir / "doc.yml"
        with open(path, "w") as stream:
            YAML().dump(document, stream)
        return subprocess.run(
            [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.circle-ci", str(path)],
            capture_output=True, text=True,
        )

    def test_the_packed_orb_is_valid(self):
        result = self.validate(load(packed_text()))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_every_example_usage_is_a_valid_config(self):
        for name, example in load(packed_text())["examples"].items():
            with self.subTest(example=name):
                self.assertEqual(example["usage"]["orbs"]["wharf"], "wharf-dev/wharf@0.1.0")
                result = self.validate(example["usage"])
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_the_schema_rejects_a_broken_orb(self):
        orb = load(packed_text())
        orb["commands"]["register"]["parameters"]["push"]["type"] = "yes-or-no"
        self.assertNotEqual(self.validate(orb).returncode, 0)


WORKFLOW_JOB_KEYS = {"context", "requires", "filters", "name", "matrix", "type", "pre-steps", "post-steps"}


def configs_using_the_orb():
    """Every config that shows the orb: the examples' `usage`, and docs/circleci.md's YAML."""
    orb = load(packed_text())
    for name, example in orb["examples"].items():
        yield f"example {name}", example["usage"]
    docs = (REPO / "docs" / "circleci.md").read_text()
    for index, block in enumerate(re.findall(r"```yaml\n(.*?)```", docs, re.S)):
        config = load(block)
        if isinstance(config, dict) and "orbs" in config:
            yield f"docs/circleci.md block {index}", config


def orb_invocations(node, prefix="wharf/"):
    """(name, arguments) of every `wharf/...:` map in a config, jobs and steps alike."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith(prefix):
                yield key[len(prefix):], value or {}
            yield from orb_invocations(value, prefix)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and item.startswith(prefix):
                yield item[len(prefix):], {}
            yield from orb_invocations(item, prefix)


class ConfigsUsingTheOrb(unittest.TestCase):
    """The examples and the docs' config use only what the orb offers, with what it requires."""

    def test_the_docs_show_a_complete_config(self):
        self.assertIn("docs/circleci.md block 0", [name for name, _ in configs_using_the_orb()])

    def test_every_invocation_matches_the_orb(self):
        orb = load(packed_text())
        for where, config in configs_using_the_orb():
            # Under `workflows` a wharf/ name is one of the orb's jobs; under `jobs`, a command.
            for section, kind, extra in (("workflows", "jobs", WORKFLOW_JOB_KEYS), ("jobs", "commands", set())):
                for name, arguments in orb_invocations(config.get(section) or {}):
                    with self.subTest(where=where, invocation=f"{kind}/{name}"):
                        self.assertIn(name, orb[kind])
                        declared = orb[kind][name].get("parameters") or {}
                        self.assertLessEqual(set(arguments) - extra, set(declared))
                        required = {p for p, spec in declared.items() if "default" not in spec}
                        self.assertLessEqual(required, set(arguments))

    def test_the_docs_config_is_valid(self):
        with tempfile.TemporaryDirectory() as tmp:
            for where, config in configs_using_the_orb():
                if not where.startswith("docs/"):
                    continue
                path = Path(tmp) / "config.yml"
                with open(path, "w") as stream:
                    YAML().dump(config, stream)
                result = subprocess.run(
                    [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.circle-ci", str(path)],
                    capture_output=True, text=True,
                )
                self.assertEqual(result.returncode, 0, where + result.stdout + result.stderr)

    def test_the_docs_table_every_parameter(self):
        docs = (REPO / "docs" / "circleci.md").read_text()
        orb = load(packed_text())
        for owner in (orb["commands"]["register"], orb["commands"]["install"], orb["executors"]["default"]):
            for name in owner["parameters"]:
                with self.subTest(parameter=name):
                    self.assertIn(f"| `{name}` |", docs)


class BadSources(unittest.TestCase):
    def setUp(self):
        self.src = Path(tempfile.mkdtemp()) / "src"
        shutil.copytree(SRC, self.src)
        self.addCleanup(shutil.rmtree, self.src.parent)

    def write(self, relative, text):
        (self.src / relative).write_text(text)

    def assert_pack_error(self, pattern):
        with self.assertRaisesRegex(pack.PackError, pattern):
            pack.pack(self.src)

    def test_an_unknown_include_names_the_file_and_the_missing_script(self):
        self.write("commands/extra.yml", "steps:\n  - run:\n      command: <<include(scripts/nope.sh)>>\n")
        self.assert_pack_error(r"commands/extra\.yml: include\(scripts/nope\.sh\): no such file .*scripts/nope\.sh")

    def test_the_command_line_reports_it_and_exits_1(self):
        self.write("commands/extra.yml", "steps:\n  - run:\n      command: <<include(scripts/nope.sh)>>\n")
        result = subprocess.run(
            [sys.executable, str(ORB_DIR / "scripts" / "pack.py"), str(self.src)],
            capture_output=True, text=True,
        )
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertRegex(result.stderr, r"^pack: .*include\(scripts/nope\.sh\): no such file")

    def test_an_include_inside_a_longer_value_is_refused(self):
        self.write("commands/extra.yml", "steps:\n  - run:\n      command: set -e; <<include(scripts/register.sh)>>\n")
        self.assert_pack_error(r"must be the whole value")

    def test_an_include_outside_src_is_refused(self):
        self.write("commands/extra.yml", "steps:\n  - run:\n      command: <<include(../../etc/passwd)>>\n")
        self.assert_pack_error(r"points outside")

    def test_invalid_yaml_names_the_file(self):
        self.write("jobs/broken.yml", "steps: [unclosed\n")
        self.assert_pack_error(r"jobs/broken\.yml: not valid YAML")

    def test_a_stray_file_in_a_section_is_refused(self):
        self.write("examples/notes.txt", "hello")
        self.assert_pack_error(r"examples/notes\.txt: only \.yml and \.yaml files")

    def test_a_missing_orb_yml_is_reported(self):
        (self.src / "@orb.yml").unlink()
        self.assert_pack_error(r"@orb\.yml: missing")


class CommandLine(unittest.TestCase):
    def test_output_file_matches_stdout(self):
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "dist" / "orb.yml"
            script = str(ORB_DIR / "scripts" / "pack.py")
            written = subprocess.run([sys.executable, script, "-o", str(target)], capture_output=True, text=True)
            printed = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True)
            self.assertEqual(written.returncode, 0, written.stderr)
            self.assertEqual(target.read_text(), printed.stdout)


if __name__ == "__main__":
    unittest.main()
