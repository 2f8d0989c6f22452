#!/usr/bin/env bash
# ansible-test, run from the collection's own path,
# .collections/ansible_collections/daskhub/deploy (a committed link to the
# repository's root), with what it needs offline:
#   scripts/ansible-test.sh sanity --python 3.12 --local
#   scripts/ansible-test.sh units --python 3.12 --local
# ansible-test finds the collection from the working directory, and the
# kernel resolves a link there (getcwd names the repository's root, outside any
# ansible_collections/), so the path is given to it as ANSIBLE_TEST_CONTENT_ROOT,
# the variable it sets itself when it delegates a run. scripts/ansible_test_pip.py
# puts pip's bootstrap where ansible-test looks for it first
# (ci-files.testing.ansible.com is not reached).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
"$root/.venv/bin/python" scripts/ansible_test_pip.py
collection=$root/.collections/ansible_collections/daskhub/deploy
cd "$collection"
export ANSIBLE_TEST_CONTENT_ROOT=$collection
exec "$root/.venv/bin/ansible-test" "$@"
