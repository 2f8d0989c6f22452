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
  - With C(installer=uv), uv of I(uv_version) is first installed into the
    venv by the venv's pip, then installs the rest, bytecode compiled and
    copied, not linked, from its cache; it is several times faster than
    pip. uv reads its own settings (C(UV_DEFAULT_INDEX), C(UV_INDEX),
    C(uv.toml), C(SSL_CERT_FILE)), not pip's configuration; only the uv
    package itself comes through pip's.
  - Rebuilds the venv when it was made from another interpreter than I(python).
  - Writes a stamp (a SHA-256 of requirements, constraints and the venv's
    interpreter version, the installer) into the venv only after the install
    succeeded; it runs again whenever the stamp does not match, so a
    half-finished install is retried and a converge with nothing to do
    installs nothing.
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
    description: Further arguments of the installer's C(pip install).
    type: list
    elements: str
    default: []
  installer:
    description: What installs the packages.
    type: str
    choices: [uv, pip]
    default: uv
  uv_version:
    description: The version of uv to install into the venv; required with C(installer=uv).
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
"""

RETURN = r"""
pip_ran:
  description: Whether the installer ran (uv or pip).
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


def _failure(venv, installer, rc, out, err):
    """The lines of a failed install that say what broke (pip's ERROR lines, uv's error report)."""
    lines = (err + "\n" + out).strip().splitlines()
    marked = [line[:600] for line in lines if line.lstrip().startswith(("ERROR", "error:", "cause:", "hint:"))]
    tail = "\n".join(marked or [line for line in lines if not line.startswith("WARNING")][-15:])
    return f"{installer} install into {venv} failed (exit {rc}):\n{tail}"


def _install_command(module, venv_python, req_path):
    """The command that installs the requirements: uv's pip interface (uv first put into the venv) or pip."""
    params = module.params
    if params["installer"] == "pip":
        return [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "-r", req_path]
    uv = os.path.join(os.path.dirname(venv_python), "uv")
    rc, out, _err = module.run_command([uv, "--version"]) if os.path.exists(uv) else (1, "", "")
    if rc != 0 or out.split()[1:2] != [params["uv_version"]]:
        pip = [venv_python, "-m", "pip", "install", "--disable-pip-version-check", f"uv=={params['uv_version']}"]
        rc, out, err = module.run_command(pip)
        if rc != 0:
            module.fail_json(msg=_failure(params["venv"], "pip (of uv)", rc, out, err), pip_ran=True, changed=True)
    # Copies, not hard links: the venv must not share inodes (and modes) with
    # the installing account's cache, which that account may clean at will.
    return [uv, "pip", "install", "--python", venv_python, "--compile-bytecode", "--link-mode", "copy", "-r", req_path]


def main():
    module = AnsibleModule(
        argument_spec={
            "venv": {"type": "path", "required": True},
            "python": {"type": "path", "required": True},
            "requirements": {"type": "list", "elements": "str", "required": True},
            "constraints": {"type": "str", "default": ""},
            "extra_args": {"type": "list", "elements": "str", "default": []},
            "installer": {"type": "str", "choices": ["uv", "pip"], "default": "uv"},
            "uv_version": {"type": "str"},
        },
        required_if=[("installer", "uv", ["uv_version"])],
        supports_check_mode=True,
    )
    venv = module.params["venv"]
    venv_python = os.path.join(venv, "bin", "python")
    requirements = "\n".join(module.params["requirements"]) + "\n"
    constraints = module.params["constraints"]
    installer = module.params["installer"]
    installer_id = "pip" if installer == "pip" else f"uv {module.params['uv_version']}"
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

    def stamp_of(interpreter_version):
        return hashlib.sha256(
            "\0".join([requirements, constraints, interpreter_version, installer_id]).encode()
        ).hexdigest()

    digest = stamp_of(version)
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
        digest = stamp_of(out.strip())
    req_path = os.path.join(venv, "requirements-daskhub.txt")
    con_path = os.path.join(venv, "constraints-daskhub.txt")
    for path, text in ((req_path, requirements), (con_path, constraints)):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    command = _install_command(module, venv_python, req_path)
    if constraints:
        command += ["-c", con_path]
    rc, out, err = module.run_command(command + module.params["extra_args"])
    if rc != 0:
        module.fail_json(msg=_failure(venv, installer, rc, out, err), **result)
    with open(stamp_path, "w", encoding="ascii") as handle:
        handle.write(digest + "\n")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
