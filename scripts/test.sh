#!/usr/bin/env bash
# The whole test suite: what .ci/run calls and README.md documents.
# Bootstraps .venv first, so it works on a fresh machine. Ends with a
# summary (scripts/test_summary.py): each step's time, pytest's counts and
# every skip with its reason; the logs and pytest's JUnit report stay in
# build/test-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
# The suite's interpreter: Debian 13's own CPython (scripts/debian_python.py
# says why: a platform the README names, whose faults the pyenv builds hid,
# and a third less CPU), unless DASKHUB_PYTHON names one. Where it cannot be
# had, bootstrap finds an interpreter as it always does; the tests of
# Debian's build then skip, naming why.
if [ -z "${DASKHUB_PYTHON:-}" ] && debian_python=$(python3 scripts/debian_python.py); then
  export DASKHUB_PYTHON=$debian_python
fi
./scripts/bootstrap.sh
./scripts/test-deps.sh
export PATH="$PWD/.venv/bin:$PATH"
# Tests run the playbooks themselves; Ansible must read this ansible.cfg.
export ANSIBLE_CONFIG="$PWD/ansible.cfg"

results="$PWD/build/test-results"
rm -rf "$results"
mkdir -p "$results/skips"
# A step that skips itself (Molecule's kind scenario) writes its reason here.
export DASKHUB_TEST_SKIPS="$results/skips"
# The summary's wall-clock time counts from here, bootstrap included.
echo "$started" >"$results/started"
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

# The static checks (yamllint and ruff first: two seconds that no longer
# hold pytest back), ansible-test and the kind scenario (which skips itself
# without Docker) run beside pytest: each keeps at most one core busy, and none
# touches what the tests deploy. Their output goes to their logs and is
# shown after. Molecule's default scenario runs inside pytest: it is the
# shared stack's deploy (tests/support/stacks.py), so the site it converges
# and verifies is the one the stack's tests then use.
beside_pytest() {
  step yamllint yamllint --strict . &&
    step ruff ruff check . &&
    # ansible-lint's syntax-check rule (which cannot be skipped) runs
    # ansible-playbook --syntax-check on every playbook and role it lints.
    step ansible-lint ansible-lint --profile production &&
    step ansible-doc python scripts/check_plugin_docs.py &&
    # The docs site (build/docs/html): the reference and the guides, warnings as errors.
    step docs python scripts/build_docs.py &&
    step ansible-test-sanity ansible_test sanity &&
    step ansible-test-units ansible_test units &&
    # Skips itself without Docker, kind and the internet; the summary names why.
    step molecule-kind kind_scenario
}

# ansible-test, from the collection's own path (scripts/run_ansible_test.py:
# a copy at build/ansible-test/ansible_collections/daskhub/deploy), on the
# controller's Python (the version of .venv's), one core. sanity: every test that applies here,
# pylint included (44 s of CPU: without it new code broke its rules within
# the hour); its environments are built once from PyPI and kept in
# ~/.ansible/test/venv. units: tests/unit/plugins, the
# layout ansible-test knows (pytest below leaves them to it); its JUnit
# report goes beside pytest's for the summary.
ansible_test() {
  local status=0 version
  version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [ "$1" = sanity ]; then
    python scripts/run_ansible_test.py sanity --python "$version" --local --color no || status=$?
  else
    python scripts/run_ansible_test.py units --python "$version" --local --color no --num-workers 1 tests/unit/plugins/ ||
      status=$?
    cp build/ansible-test/ansible_collections/daskhub/deploy/tests/output/junit/*units.xml "$results/" 2>/dev/null || true
  fi
  return "$status"
}

# The kind scenario where Docker and kind are installed. Elsewhere only its
# create.yml runs, which finds what is missing and records the skip with its
# reason (as the whole scenario would, step by step, in half a minute of
# ansible-playbook runs that each skip themselves).
kind_scenario() {
  if command -v docker >/dev/null && command -v kind >/dev/null; then
    molecule test -s kind
  else
    local ephemeral
    ephemeral=$(mktemp -d)
    MOLECULE_EPHEMERAL_DIRECTORY=$ephemeral ansible-playbook molecule/kind/create.yml
    rm -rf "$ephemeral"
  fi
}

# The static checks start first: on a fresh machine the chart environments
# below take minutes of downloads and installs, which leave a core to them.
beside_pytest >"$results/beside-pytest.out" 2>&1 &
beside=$!
# The chart boot's Python environments (tests/support/chart_envs.py), built
# before pytest, not inside it: a fresh machine has none; on a machine that
# has them this takes a second.
chart_status=0
step chart-envs python tests/support/chart_envs.py || chart_status=$?
# One worker more than the cores: a quarter of the suite's time the tests
# wait (a cron minute, the culler's timeout, a browser, a provider), and on
# two cores two workers left 24% of the CPU idle (939 s); three left 5.5%
# (838 s). The tests of one shared stack go to one worker (xdist_group,
# tests/support/stacks.py), so each stack is deployed once.
# A failed build fails the suite without pytest; the static checks still finish and show.
pytest_status=$chart_status
[ "$chart_status" -ne 0 ] ||
  step pytest pytest -n "$(($(nproc) + 1))" --dist loadgroup --junitxml="$results/pytest.xml" \
    --ignore=tests/unit/plugins || pytest_status=$?
beside_status=0
wait "$beside" || beside_status=$?
cat "$results/beside-pytest.out"
[ "$pytest_status" -eq 0 ] && [ "$beside_status" -eq 0 ] || exit 1

trap - EXIT
python scripts/test_summary.py "$results"
