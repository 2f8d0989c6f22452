#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Installs the local target's pinned Python stack into its venv."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_venv
short_description: Install pinned Python packages into a venv, skipping pip when nothing changed
description:
  - Creates the venv when missing, then runs C(pip install) with the given
    requirements and constraints.
  - Rebuilds the venv when it was made from another interpreter than I(python).
  - Writes a stamp (a SHA-256 of requirements, constraints and the venv's
    interpreter version) into the venv only after pip succeeded; pip runs
    again whenever the stamp does not match, so a half-finished install is
    retried and a converge with nothing to do skips pip entirely.
version_added: 0.1.0
author: DaskHub deployer maintainers
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
    description: Further pip arguments.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports whether pip would run.
"""

EXAMPLES = r"""
- name: Install the stack
  daskhub.deploy.local_venv:
    venv: /opt/daskhub/venv
    python: /usr/bin/python3
    requirements: [jupyterhub==5.5.4]
    constraints: "{{ lookup('ansible.builtin.file', 'constraints-local.txt') }}"
"""

RETURN = r"""
pip_ran:
  description: Whether pip ran.
  returned: always
  type: bool
created:
  description: Whether the venv was created.
  returned: always
  type: bool
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule

STAMP = ".daskhub-requirements.sha256"


def _venv_base(venv):
    """The interpreter a venv was made from (pyvenv.cfg), or None when unknown."""
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition("=")
                if key.strip() == "executable":
                    return value.strip()
    except OSError:
        return None
    return None


def main():
    module = AnsibleModule(
        argument_spec={
            "venv": {"type": "path", "required": True},
            "python": {"type": "path", "required": True},
            "requirements": {"type": "list", "elements": "str", "required": True},
            "constraints": {"type": "str", "default": ""},
            "extra_args": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    venv = module.params["venv"]
    venv_python = os.path.join(venv, "bin", "python")
    requirements = "\n".join(module.params["requirements"]) + "\n"
    constraints = module.params["constraints"]
    result = {"changed": False, "pip_ran": False, "created": False}

    created = not os.path.exists(venv_python)
    base = _venv_base(venv)
    if base and os.path.realpath(base) != os.path.realpath(module.params["python"]):
        # Another interpreter was asked for (daskhub_local_python changed):
        # rebuild the venv on it; it only holds packages.
        created = True
    version = ""
    if not created:
        rc, out, _err = module.run_command([venv_python, "-c", "import sys; print(sys.version)"])
        version = out.strip() if rc == 0 else ""
        created = rc != 0
    digest = hashlib.sha256("\0".join([requirements, constraints, version]).encode()).hexdigest()
    stamp_path = os.path.join(venv, STAMP)
    try:
        with open(stamp_path, encoding="ascii") as handle:
            current = handle.read().strip()
    except OSError:
        current = ""
    if not created and current == digest:
        module.exit_json(**result)
    result.update(changed=True, pip_ran=True, created=created)
    if module.check_mode:
        module.exit_json(**result)

    if created:
        rc, out, err = module.run_command([module.params["python"], "-m", "venv", "--clear", venv])
        if rc != 0:
            module.fail_json(msg=f"{module.params['python']} -m venv {venv} failed: {(err or out).strip()}", **result)
        _rc, out, _err = module.run_command([venv_python, "-c", "import sys; print(sys.version)"])
        version = out.strip()
        digest = hashlib.sha256("\0".join([requirements, constraints, version]).encode()).hexdigest()
    req_path = os.path.join(venv, "requirements-daskhub.txt")
    con_path = os.path.join(venv, "constraints-daskhub.txt")
    for path, text in ((req_path, requirements), (con_path, constraints)):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    command = [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "-r", req_path]
    if constraints:
        command += ["-c", con_path]
    rc, out, err = module.run_command(command + module.params["extra_args"])
    if rc != 0:
        # pip's ERROR lines say what broke; its warnings can bury them.
        lines = (err + "\n" + out).strip().splitlines()
        errors = [line[:600] for line in lines if line.startswith("ERROR")]
        tail = "\n".join(errors or [line for line in lines if not line.startswith("WARNING")][-15:])
        module.fail_json(msg=f"pip install into {venv} failed (exit {rc}):\n{tail}", **result)
    with open(stamp_path, "w", encoding="ascii") as handle:
        handle.write(digest + "\n")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
