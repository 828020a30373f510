#!/usr/bin/env python3
"""The closing line of .ci/run: every test counted once, linters apart.

  count.py --cargo LOG STATUS [--cargo LOG STATUS ...] --tap TAP_LOG [--pg-tests FILE]

Each --cargo is one `cargo test` pass (its output and its exit status). A test that ran in
several passes (the end-to-end tests run on SQLite, then on PostgreSQL) counts once: passed if
it passed every time it ran, failed if it failed once. A pass that exited non-zero with no
failed test (a suite that did not compile or could not start) counts as one failure. TAP lines
marked `[check]` are linters and are reported apart from tests; a TAP test marked `# skip` is
a skip, not a pass; the adapters' runner writes a `not ok - [suite] …` line for a suite that did
not run to its end (a compile error, a collection error, a crash), and it counts as a failure.
--pg-tests names the file where each test that opened a PostgreSQL database wrote its name:
only those count as having run on both databases."""

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
    passes, tap, pg_tests, i = [], None, None, 0
    while i < len(argv):
        if argv[i] == "--cargo":
            passes.append((argv[i + 1], int(argv[i + 2])))
            i += 3
        elif argv[i] == "--tap":
            tap = argv[i + 1]
            i += 2
        elif argv[i] == "--pg-tests":
            pg_tests = argv[i + 1]
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
    on_postgres = set()
    if pg_tests:
        try:
            with open(pg_tests, errors="replace") as names:
                on_postgres = {line.strip() for line in names if line.strip()}
        except FileNotFoundError:
            pass
    twice = sum(1 for (_, name), n in runs.items() if n > 1 and name in on_postgres)
    checks_ok = checks_failed = skipped = 0
    if tap:
        with open(tap, errors="replace") as log:
            for line in log:
                check = "[check]" in line
                if line.startswith("ok") and re.search(r"#\s*skip", line, re.IGNORECASE):
                    skipped += 1
                elif line.startswith("not ok"):
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
        f"{passed} passed, {failed} failed, {skipped} skipped "
        f"(each test once; {twice} ran on both SQLite and PostgreSQL; "
        f"{broken} suite(s) could not run; linters apart: {checks_ok} passed, "
        f"{checks_failed} failed)"
    )
    return 1 if failed or checks_failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
