#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Installs the local target's pinned Python stack into its venv."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_venv
short_description: Install pinned Python packages into a venv, skipping the install when nothing changed
description:
  - Creates the venv when missing, then installs the given requirements and
    constraints with uv (C(uv pip install), the default) or with pip.
  - With C(installer=uv), uv of O(uv_version) installs the packages,
    bytecode compiled and copied, not linked, from its cache; it is several
    times faster than pip. uv is kept once per account in O(uv_dir), not in
    each venv; the first install fetches it with pip (in a throwaway venv),
    and the venv is made without pip. uv reads its own settings
    (C(UV_DEFAULT_INDEX), C(UV_INDEX), C(uv.toml), C(SSL_CERT_FILE)), not
    pip's configuration; only the uv package itself comes through pip's.
  - With C(installer=pip), the venv's own pip installs; a venv that uv made
    gets its pip first (C(ensurepip)).
  - Rebuilds the venv when it was made from another interpreter than O(python).
  - Writes a stamp (a SHA-256 of requirements, constraints and the venv's
    interpreter version, the installer) into the venv only after the install
    succeeded and the venv passed its check (it imports O(imports) and runs
    O(commands)); it runs again whenever the stamp does not match, so a
    half-finished install is retried and a converge with nothing to do
    installs nothing.
  - A matching stamp is not taken on trust. Every run also checks, cheaply
    (no import, no process), that each installed distribution's files listed
    in its C(RECORD) exist and that each requirement is installed. An
    install killed midway (uv installs in parallel and can leave a
    C(.dist-info) without its package) fails that check, and the venv is
    then rebuilt from scratch, because the installer would take the
    half-installed packages for installed ones.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  venv:
    description: Directory of the venv.
    type: path
    required: true
  python:
    description: Interpreter that creates the venv.
    type: path
    required: true
  requirements:
    description: Requirement lines (C(name==version)).
    type: list
    elements: str
    required: true
  constraints:
    description: Content of a pip constraints file for the transitive dependencies.
    type: str
    default: ""
  extra_args:
    description: Further arguments of the installer's C(pip install).
    type: list
    elements: str
    default: []
  excludes:
    description: >-
      Packages the venv never holds, though a requirement asks for them (a
      dependency that costs more than it gives). uv leaves them out of the
      install (C(--excludes)); pip installs them, and they are then removed,
      as from a venv that an earlier install gave them to.
    type: list
    elements: str
    default: []
  installer:
    description: What installs the packages.
    type: str
    choices: [uv, pip]
    default: uv
  uv_version:
    description: The version of uv that installs; required with C(installer=uv).
    type: str
  uv_dir:
    description:
      - Where this account keeps uv, as C(uv-<version>), for all its venvs,
        beside uv's own cache.
      - Default C($XDG_CACHE_HOME/daskhub), or C(~/.cache/daskhub).
    type: path
  imports:
    description: Modules the venv's Python must import after an install (one process for all).
    type: list
    elements: str
    default: []
  commands:
    description: >-
      Commands of the venv's C(bin) that must succeed after an install, each
      a string split like a shell would (e.g. C(jupyterhub --version)).
    type: list
    elements: str
    default: []
  shared_python_dest:
    description:
      - Where the stack's accounts run the interpreter from, as root (they
        may not run O(python) where it is, under C(/root) for example). The
        venv is made on an interpreter they can run, provided
        there (a copy of O(python)'s installation, or O(python) itself when
        they can run it), in the same call.
    type: path
  openssl_error_queue_fix:
    description:
      - The text of the collection's C(plugins/files/python/daskhub_openssl_error_queue.py). Installed, with a
        C(.pth) file that runs it in every process of the venv, where the venv's interpreter lets one failed TLS
        connection make the others of its thread fail (CPython gh-148594 with OpenSSL >= 3.4, as on Debian 13);
        removed where it does not. Fails when the fix does not take hold. Unset, the venv is left as it is.
    type: str
attributes:
  check_mode:
    support: full
    description: Reports whether the install would run.
"""

EXAMPLES = r"""
- name: Install the stack
  daskhub.deploy.local_venv:
    venv: /opt/daskhub/venv
    python: /usr/bin/python3
    requirements: [jupyterhub==5.5.4]
    constraints: "{{ lookup('ansible.builtin.file', 'constraints-local.txt') }}"
    uv_version: 0.13.9
    imports: [jupyterhub]
    commands: [jupyterhub --version]
"""

RETURN = r"""
pip_ran:
  description: Whether the installer ran (uv or pip).
  returned: always
  type: bool
  sample: true
created:
  description: Whether the venv was created (or rebuilt).
  returned: always
  type: bool
  sample: false
repaired:
  description:
    - What was wrong with the venv, so that it was rebuilt from empty; empty when nothing was.
    - Files missing under a matching stamp (a hand-deleted package), or a half-written package without a
      stamp (an install killed midway), which the installer would take for installed.
  returned: always
  type: str
  sample: jupyterhub-5.5.4.dist-info lists jupyterhub/__init__.py, which is missing
openssl_error_queue:
  description: With O(openssl_error_queue_fix), whether the interpreter leaks (C(leaks)) and the files changed.
  returned: when O(openssl_error_queue_fix) is set and the venv exists
  type: dict
  sample: {leaks: true, changed: [/opt/daskhub/venv/lib/python3.13/site-packages/daskhub_openssl_error_queue.pth]}
uv:
  description: The uv that installs (O(uv_dir)/uv-<version>).
  returned: when O(installer=uv)
  type: str
  sample: /root/.cache/daskhub/uv-0.13.9
shared_python:
  description:
    - With O(shared_python_dest), the interpreter used (C(python)), whether
      it is a copy (C(copied)), its C(version) and the interpreter it was copied from (C(source)).
  returned: when O(shared_python_dest) is set
  type: dict
  sample:
    python: /opt/daskhub/python/bin/python3.12
    copied: true
    version: 3.12.1
    source: /root/.pyenv/versions/3.12.1/bin/python3.12
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host.openssl_error_queue import ErrorQueueFixError
from ansible_collections.daskhub.deploy.plugins.module_utils.host.venv import VenvError, ensure_venv
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    "venv": {"type": "path", "required": True},
    "python": {"type": "path", "required": True},
    "requirements": {"type": "list", "elements": "str", "required": True},
    "constraints": {"type": "str", "default": ""},
    "extra_args": {"type": "list", "elements": "str", "default": []},
    "excludes": {"type": "list", "elements": "str", "default": []},
    "installer": {"type": "str", "choices": ["uv", "pip"], "default": "uv"},
    "uv_version": {"type": "str"},
    "uv_dir": {"type": "path"},
    "imports": {"type": "list", "elements": "str", "default": []},
    "commands": {"type": "list", "elements": "str", "default": []},
    "shared_python_dest": {"type": "path"},
    "openssl_error_queue_fix": {"type": "str"},
}


MODULE_WORK = ModuleWork(
    ARGUMENT_SPEC,
    lambda module: ensure_venv(module.run_command, module.params, module.check_mode),
    (VenvError, ErrorQueueFixError),
    {"required_if": [("installer", "uv", ["uv_version"])]},
)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
