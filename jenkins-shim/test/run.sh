#!/usr/bin/env bash
# Runs the jenkins-shim tests: the Groovy unit tests (stubbed Jenkins steps), then the
# end-to-end test (real wharf, real `wharf serve`). Exits non-zero if any test failed.
#
#   jenkins-shim/test/run.sh            # WHARF_BIN names the wharf binary (default target/debug/wharf)
set -euo pipefail

test_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shim_dir=$(dirname "$test_dir")
repo_root=$(dirname "$shim_dir")
tools=${WHARF_CI_TOOLS:-$repo_root/.ci/tools/node_modules}
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}

groovy -cp "$shim_dir/src:$test_dir:$test_dir/stubs" -Dwharf.jenkinsShim="$shim_dir" \
  "$test_dir/RunUnitTests.groovy"
"$tools/bats/bin/bats" "$test_dir/end-to-end.bats"
