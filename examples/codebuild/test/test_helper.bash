# shellcheck shell=bash
# Shared setup for the CodeBuild example's tests: the buildspec runs through run-buildspec.py,
# a stand-in for CodeBuild and SSM Parameter Store (AWS cannot run here).

EXAMPLE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$EXAMPLE_DIR/../.." && pwd)
WHARF_CI_TOOLS=${WHARF_CI_TOOLS:-$REPO_ROOT/.ci/tools/node_modules}
WHARF_CI_PYTHON=${WHARF_CI_PYTHON:-$REPO_ROOT/.ci/venv/bin/python}
BUILDSPEC=$EXAMPLE_DIR/buildspec.yml
RUNNER=$EXAMPLE_DIR/run-buildspec.py
export EXAMPLE_DIR REPO_ROOT WHARF_CI_TOOLS WHARF_CI_PYTHON BUILDSPEC RUNNER

load "$WHARF_CI_TOOLS/bats-support/load.bash"
load "$WHARF_CI_TOOLS/bats-assert/load.bash"
load "$WHARF_CI_TOOLS/bats-mock/stub.bash"
load "$REPO_ROOT/tests/adapters/contract.bash"

# Each test gets its own stub directory and source checkout.
setup_build_dir() {
  BATS_MOCK_TMPDIR=$BATS_TEST_TMPDIR
  BATS_MOCK_BINDIR=$BATS_MOCK_TMPDIR/bin
  mkdir -p "$BATS_MOCK_BINDIR"
  SOURCE_DIR=$BATS_TEST_TMPDIR/src
  mkdir -p "$SOURCE_DIR"
  printf 'FROM scratch\n' >"$SOURCE_DIR/Dockerfile"
  PARAMETER_STORE=$BATS_TEST_TMPDIR/parameter-store.json
  COMMIT=$(printf '%040x' "$RANDOM$RANDOM")
}

# SSM Parameter Store's content for this test, as name=value pairs.
parameter_store() {
  local pair json='{}'
  for pair in "$@"; do
    json=$(jq --arg name "${pair%%=*}" --arg value "${pair#*=}" '. + {($name): $value}' <<<"$json")
  done
  printf '%s\n' "$json" >"$PARAMETER_STORE"
}

# ECR login and the Docker client, as the build image has them, stubbed: there is no AWS
# account and no Docker engine here. `image` is the URI the build must build and push.
stub_aws_and_docker() {
  local image=$1 registry=${1%%/*}
  stub aws "ecr get-login-password : echo ecr-password-from-aws"
  stub docker \
    "login --username AWS --password-stdin $registry : read -r password && [ \"\$password\" = ecr-password-from-aws ]" \
    "build --tag $image . : echo built $image" \
    "push $image : echo pushed $image"
}

# Runs the example buildspec as CodeBuild would for a webhook push, in a clean environment:
# PATH (the build image's tools) plus the given project environment variables.
codebuild() {
  local -a project_env=() stub_env=()
  local name
  # bats-mock's stubs find their plans through these variables.
  for name in $(compgen -e); do
    [[ $name != *_STUB_* ]] || stub_env+=("$name=${!name}")
  done
  while [[ $# -gt 0 && $1 == *=* ]]; do
    project_env+=("$1")
    shift
  done
  (cd "$SOURCE_DIR" && env -i HOME="$BATS_TEST_TMPDIR" \
    PATH="$BATS_MOCK_BINDIR:${BUILD_IMAGE_PATH:-/usr/local/bin:/usr/bin:/bin}" \
    BATS_MOCK_TMPDIR="$BATS_MOCK_TMPDIR" "${stub_env[@]}" "${project_env[@]}" "$WHARF_CI_PYTHON" "$RUNNER" "$BUILDSPEC" \
    --parameter-store "$PARAMETER_STORE" --commit "$COMMIT" --source-dir "$SOURCE_DIR" \
    --artifacts "$BATS_TEST_TMPDIR/artifacts" --exported-variables "$BATS_TEST_TMPDIR/exported.json" "$@")
}

exported() {
  jq -r --arg name "$1" '.[$name]' "$BATS_TEST_TMPDIR/exported.json"
}
