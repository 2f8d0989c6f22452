#!/usr/bin/env bash
# The whole test suite: what .ci/run calls and README.md documents.
# Bootstraps .venv first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/test-deps.sh
export PATH="$PWD/.venv/bin:$PATH"
# Tests run the playbooks themselves; Ansible must read this ansible.cfg.
export ANSIBLE_CONFIG="$PWD/ansible.cfg"

step() {
  printf '\n=== %s\n' "$*"
  SECONDS=0
}
done_step() { printf '=== %s: %ss\n' "$1" "$SECONDS"; }

step "yamllint"
yamllint --strict .
done_step yamllint

step "ruff"
ruff check .
done_step ruff

step "ansible-lint (production profile)"
ansible-lint --profile production
done_step ansible-lint

step "ansible-playbook --syntax-check"
for playbook in site.yml playbooks/*.yml; do
  ansible-playbook --syntax-check "$playbook" >/dev/null
  echo "ok: $playbook"
done
done_step syntax-check

step "ansible-doc of our plugins"
python scripts/check_plugin_docs.py
done_step ansible-doc

step "pytest"
pytest
done_step pytest

step "molecule test -s default"
molecule test -s default
done_step molecule

step "molecule kind (skips itself without Docker, kind and the internet)"
molecule test -s kind
done_step molecule-kind
