#!/usr/bin/env bash
# The fault drill (issue 29): HAProxy on loopback in front of two `wharf serve` replicas on one
# PostgreSQL and an S3-compatible store (moto), a mixed load of real `wharf` processes through
# HAProxy, and, in turn: a replica killed with SIGKILL and restarted, PostgreSQL restarted, the S3
# server paused for 5 s, S3 answering 503 for 5 s. It then proves every acknowledged write is
# stored once and audited once, every acknowledged push pulls whole, and nothing was left
# pending; it prints a Markdown report (error rate, p99 and recovery per fault; each replica's
# RSS and open descriptors over time). Exit 0 when every proof holds. What it does, step by
# step: docs/scaling.md.
#
#   cargo build --release -p wharf && bash benches/drill.sh            # two minutes
#   DRILL_SECONDS=1800 bash benches/drill.sh                           # the 30-minute soak
#
# Needs: haproxy, PostgreSQL's server binaries, psql, and moto (pip, as in .ci/requirements.txt;
# `.ci/run` installs all of them). Knobs: WHARF (default target/release/wharf), DRILL_SECONDS
# (120), DRILL_CLIENTS (6), DRILL_REPORT (also write the report to this file), DRILL_MOTO (the
# moto_server to run, default .ci/venv/bin/moto_server), DRILL_PG_BIN (PostgreSQL's bin dir).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  printf 'drill: %s\n' "$*" >&2
  exit 2
}

export WHARF=${WHARF:-$PWD/target/release/wharf}
[[ -x $WHARF ]] || fail "no wharf binary at $WHARF: build it (cargo build --release -p wharf) or set WHARF"
command -v haproxy >/dev/null || fail "haproxy is not installed (Debian: apt-get install haproxy)"
command -v psql >/dev/null || fail "psql is not installed (Debian: apt-get install postgresql)"
if [[ -z ${DRILL_PG_BIN:-} ]]; then
  initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1) ||
    fail "PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql)"
  DRILL_PG_BIN=$(dirname "$initdb")
fi
export DRILL_PG_BIN
export DRILL_MOTO=${DRILL_MOTO:-$PWD/.ci/venv/bin/moto_server}
[[ -x $DRILL_MOTO ]] || fail "no moto_server at $DRILL_MOTO: pip install -r .ci/requirements.txt into .ci/venv, or set DRILL_MOTO"
exec python3 benches/drill/drill.py
