#!/usr/bin/env python3
"""Packs the orb's src/ into one orb.yml, the way `circleci orb pack` does.

    python scripts/pack.py [SRC_DIR] [-o OUTPUT]

src/@orb.yml comes first; each directory (commands, jobs, executors, examples) becomes a map
keyed by file name without extension; a string value that is exactly `<<include(PATH)>>` is
replaced by the contents of PATH, relative to src/. A file in src/ may be a link to one the
orb shares with the other adapters (scripts/install.sh is install/install.sh); like
`circleci orb pack`, packing reads through it. Writes to stdout unless -o is given.
"""

import argparse
import os
import re
import sys
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import LiteralScalarString

SECTIONS = ("commands", "jobs", "executors", "examples")
YAML_SUFFIXES = (".yml", ".yaml")
INCLUDE = re.compile(r"^\s*<<\s*include\(([^)]*)\)\s*>>\s*$")
ANY_INCLUDE = re.compile(r"<<\s*include\(")


class PackError(Exception):
    """A problem in the orb's source, reported with the file it is in."""


def load_yaml(path):
    try:
        return make_yaml().load(path)
    except Exception as error:  # ruamel raises many kinds; all mean "bad YAML here"
        raise PackError(f"{path}: not valid YAML: {error}") from error


def make_yaml():
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def read_include(src, target, where):
    # Where the include points, not where a link there leads: a link is the orb's own choice.
    path = Path(os.path.normpath(os.path.abspath(src / target)))
    if Path(os.path.abspath(src)) not in path.parents:
        raise PackError(f"{where}: include({target}) points outside {src}")
    if not path.is_file():
        raise PackError(f"{where}: include({target}): no such file {src / target}")
    return path.read_text()


def resolve_includes(node, src, where):
    """Returns node with every whole-value include replaced; partial ones are errors."""
    if isinstance(node, dict):
        for key in list(node):
            node[key] = resolve_includes(node[key], src, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            node[index] = resolve_includes(item, src, where)
    elif isinstance(node, str):
        match = INCLUDE.match(node)
        if match:
            return LiteralScalarString(read_include(src, match.group(1).strip(), where))
        if ANY_INCLUDE.search(node):
            raise PackError(f"{where}: <<include(...)>> must be the whole value, found it inside {node!r}")
    return node


def pack_section(src, section):
    entries = CommentedMap()
    directory = src / section
    if not directory.is_dir():
        return entries
    for path in sorted(directory.iterdir()):
        if path.suffix not in YAML_SUFFIXES:
            raise PackError(f"{path}: only .yml and .yaml files belong in {section}/")
        name = path.stem
        if name in entries:
            raise PackError(f"{path}: {section} has two files named {name}")
        entries[name] = resolve_includes(load_yaml(path), src, path)
    return entries


def pack(src):
    src = Path(src)
    orb_file = src / "@orb.yml"
    if not orb_file.is_file():
        raise PackError(f"{orb_file}: missing (every orb starts from src/@orb.yml)")
    orb = load_yaml(orb_file)
    if not isinstance(orb, dict):
        raise PackError(f"{orb_file}: must be a map with at least `version`")
    orb = resolve_includes(orb, src, orb_file)
    for section in SECTIONS:
        entries = pack_section(src, section)
        if not entries:
            continue
        if section in orb:
            raise PackError(f"{orb_file}: defines `{section}` itself and src/{section}/ exists too")
        orb[section] = entries
    return orb


def dump(orb, stream):
    make_yaml().dump(orb, stream)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", default=Path(__file__).resolve().parent.parent / "src")
    parser.add_argument("-o", "--output", help="write the packed orb here instead of stdout")
    args = parser.parse_args(argv)
    try:
        orb = pack(args.src)
    except PackError as error:
        print(f"pack: {error}", file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        with open(args.output, "w") as stream:
            dump(orb, stream)
    else:
        dump(orb, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
