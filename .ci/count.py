#!/usr/bin/env python3
"""The closing line of .ci/run: every test counted once, linters apart.

  count.py --cargo LOG STATUS [--cargo LOG STATUS ...] --tap TAP_LOG

Each --cargo is one `cargo test` pass (its output and its exit status). A test that ran in
several passes (the end-to-end tests run on SQLite, then on PostgreSQL) counts once: passed if
it passed every time it ran, failed if it failed once. A pass that exited non-zero with no
failed test (a suite that did not compile or could not start) counts as one failure. TAP lines
marked `[check]` are linters and are reported apart from tests."""

import re
import sys

RUNNING = re.compile(r"^\s*Running .*\(.*/deps/([A-Za-z0-9_]+)-[0-9a-f]+\)")
DOCTESTS = re.compile(r"^\s*Doc-tests (\S+)")
RESULT = re.compile(r"^test (\S+)(?: - .*)? \.\.\. (ok|FAILED|ignored)")


def cargo_pass(path):
    results, binary = {}, "?"
    with open(path, errors="replace") as log:
        for line in log:
            if m := RUNNING.match(line):
                binary = m.group(1)
            elif m := DOCTESTS.match(line):
                binary = "doc:" + m.group(1)
            elif m := RESULT.match(line):
                results[(binary, m.group(1))] = m.group(2)
    return results


def main(argv):
    passes, tap, i = [], None, 0
    while i < len(argv):
        if argv[i] == "--cargo":
            passes.append((argv[i + 1], int(argv[i + 2])))
            i += 3
        elif argv[i] == "--tap":
            tap = argv[i + 1]
            i += 2
        else:
            sys.exit(f"count.py: unknown argument {argv[i]}")
    outcome, runs, broken = {}, {}, 0
    for path, status in passes:
        results = cargo_pass(path)
        for test, result in results.items():
            if result == "ignored":
                continue
            runs[test] = runs.get(test, 0) + 1
            if outcome.get(test) != "FAILED":
                outcome[test] = result
        if status != 0 and "FAILED" not in results.values():
            broken += 1
    passed = sum(1 for r in outcome.values() if r == "ok")
    failed = sum(1 for r in outcome.values() if r == "FAILED") + broken
    twice = sum(1 for n in runs.values() if n > 1)
    checks_ok = checks_failed = 0
    if tap:
        with open(tap, errors="replace") as log:
            for line in log:
                check = "[check]" in line
                if line.startswith("not ok"):
                    if check:
                        checks_failed += 1
                    else:
                        failed += 1
                elif line.startswith("ok"):
                    if check:
                        checks_ok += 1
                    else:
                        passed += 1
    print(
        f"{passed} passed, {failed} failed "
        f"(each test once; {twice} ran on both SQLite and PostgreSQL; "
        f"{broken} suite(s) could not run; linters apart: {checks_ok} passed, "
        f"{checks_failed} failed)"
    )
    return 1 if failed or checks_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
