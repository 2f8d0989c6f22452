#!/usr/bin/env bash
# Creates .venv with a Python >= 3.12, installs the controller's locked
# runtime (requirements/controller.txt, hashed; no test tools) and checks
# the Ansible collections against requirements.yml.
# A second run with nothing changed only re-checks and takes seconds.
#
# Environment:
#   DASKHUB_PYTHON   interpreter to use instead of searching for one; a .venv
#                    made from another interpreter is made again from it
#   DASKHUB_GALAXY   auto (default): install requirements.yml from Galaxy when
#                    it answers, else use the collections bundled with
#                    `ansible`; never: always use the bundled ones;
#                    always: fail if Galaxy cannot be used
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv"
stamp="$venv/.daskhub-bootstrap"
# shellcheck source=scripts/find-python.sh
. scripts/find-python.sh

# A usable DASKHUB_PYTHON that .venv was not made from makes it again; an
# unusable one is left to the search below, as when there is no .venv.
if [ ! -x "$venv/bin/python" ] || ! daskhub_python_ok "$venv/bin/python" ||
  { [ -n "${DASKHUB_PYTHON:-}" ] && daskhub_python_ok "$DASKHUB_PYTHON" &&
    ! daskhub_venv_made_from "$venv" "$DASKHUB_PYTHON"; }; then
  python=$(daskhub_find_python)
  echo "bootstrap: creating .venv with $python ($("$python" -V 2>&1))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
fi

want=$(cat requirements/controller.txt requirements.yml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing the controller's locked runtime (requirements/controller.txt)"
  # Every package is checked against the hashes of the lock. uv (locked in
  # the same file) installs them several times faster than pip. Where uv
  # cannot be had, pip does it all. The test tools are scripts/test-deps.sh's.
  uv_lock=$(mktemp)
  trap 'rm -f "$uv_lock"' EXIT
  # uv's entry of the lock: its pin and the hash lines that continue it.
  awk '/^uv==/ {entry = 1} entry {print} entry && !/\\$/ {exit}' requirements/controller.txt >"$uv_lock"
  if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r "$uv_lock"; then
    "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --require-hashes \
      -r requirements/controller.txt
  else
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile --require-hashes \
      -r requirements/controller.txt
  fi
  # Bytecode, compiled once here because ansible starts often, for all but
  # the collections bundled with the ansible package
  # (site-packages/ansible_collections, 13,600 files, 15 s of CPU): Ansible's
  # collection loader compiles their source itself and never reads a .pyc.
  # A file that does not compile is left to fail where it is imported.
  "$venv/bin/python" -m compileall -q -j0 -x /ansible_collections/ \
    "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null || true
  "$venv/bin/python" scripts/install_collections.py --mode "${DASKHUB_GALAXY:-auto}"
  echo "$want" > "$stamp"
fi

"$venv/bin/python" scripts/check_collections.py requirements.yml
echo "bootstrap: ready ($("$venv/bin/ansible" --version | head -1))"
