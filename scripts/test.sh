#!/usr/bin/env bash
# The whole test suite: what .ci/run calls and README.md documents.
# Bootstraps .venv first, so it works on a fresh machine. Ends with a
# summary (scripts/test_summary.py): each step's time, pytest's counts and
# every skip with its reason; the logs and pytest's JUnit report stay in
# build/test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/test-deps.sh
export PATH="$PWD/.venv/bin:$PATH"
# Tests run the playbooks themselves; Ansible must read this ansible.cfg.
export ANSIBLE_CONFIG="$PWD/ansible.cfg"

results="$PWD/build/test-results"
rm -rf "$results"
mkdir -p "$results"
trap 'python scripts/test_summary.py "$results" || true' EXIT

# step NAME COMMAND...: runs COMMAND, its output on screen and in
# $results/NAME.log, and records its time; a failed step ends the suite.
step() {
  local name=$1 status=0 start=$SECONDS
  shift
  printf '\n=== %s\n' "$name"
  "$@" 2>&1 | tee "$results/$name.log" || status=${PIPESTATUS[0]}
  printf '%s\t%s\t%s\n' "$name" "$((SECONDS - start))" "$status" >>"$results/steps.tsv"
  printf '=== %s: %ss\n' "$name" "$((SECONDS - start))"
  return "$status"
}

syntax_check() {
  local playbook
  for playbook in site.yml playbooks/*.yml; do
    ansible-playbook --syntax-check "$playbook" >/dev/null || return 1
    echo "ok: $playbook"
  done
}

step yamllint yamllint --strict .
step ruff ruff check .
step ansible-lint ansible-lint --profile production
step syntax-check syntax_check
step ansible-doc python scripts/check_plugin_docs.py
# One worker per core; the tests of one shared stack go to one worker
# (xdist_group, tests/support/stacks.py), so each stack is deployed once.
step pytest pytest -n auto --dist loadgroup --junitxml="$results/pytest.xml"
step molecule-default molecule test -s default
# Skips itself without Docker, kind and the internet; the summary names why.
step molecule-kind molecule test -s kind

trap - EXIT
python scripts/test_summary.py "$results"
