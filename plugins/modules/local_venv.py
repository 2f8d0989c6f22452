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
    succeeded and the venv passed its check (it imports I(imports) and runs
    I(commands)); it runs again whenever the stamp does not match, so a
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
created:
  description: Whether the venv was created (or rebuilt).
  returned: always
  type: bool
repaired:
  description: What was wrong with a venv whose stamp matched (so it was rebuilt); empty when nothing was.
  returned: always
  type: str
  sample: jupyterhub-5.5.4.dist-info lists jupyterhub/__init__.py, which is missing
"""

import contextlib
import glob
import hashlib
import os
import re
import shlex

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


def _normalized(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def _requirement(line):
    """(normalized name, pinned version or "") of a requirement line."""
    name = re.split(r"[\[=<>!~;\s]", line.strip(), maxsplit=1)[0]
    version = line.split("==", 1)[1].split(";")[0].strip() if "==" in line else ""
    return _normalized(name), version


def venv_problem(venv, requirements):
    """What is missing from the installed packages, or "" when nothing is.

    Cheap enough for every run (a few hundred milliseconds at most): it
    reads each .dist-info's RECORD and checks that the files it lists
    exist; no interpreter starts.
    """
    sites = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages"))
    if not sites:
        return f"{venv} has no site-packages"
    site = sites[0]
    installed = {}
    for entry in os.listdir(site):
        if not entry.endswith(".dist-info"):
            continue
        name, _, version = entry[: -len(".dist-info")].partition("-")
        installed[_normalized(name)] = version
        try:
            with open(os.path.join(site, entry, "RECORD"), encoding="utf-8") as record:
                listed = [line.split(",", 1)[0] for line in record if line.strip()]
        except OSError:
            return f"{entry} has no RECORD (an install stopped midway)"
        for path in listed:
            if not os.path.lexists(os.path.join(site, path)):
                return f"{entry} lists {path}, which is missing"
    for line in requirements:
        name, version = _requirement(line)
        if name not in installed:
            return f"{line.strip()} is not installed"
        if version and installed[name] != version:
            return f"{line.strip()} is installed at {installed[name]}"
    return ""


def _check(module, venv_python):
    """Import the stack and run its commands: what an interrupted or broken install fails. "" when fine."""
    bin_dir = os.path.dirname(venv_python)
    checks = []
    if module.params["imports"]:
        checks.append([venv_python, "-c", "import " + ", ".join(module.params["imports"])])
    for command in module.params["commands"]:
        argv = shlex.split(command)
        checks.append([os.path.join(bin_dir, argv[0]), *argv[1:]])
    for argv in checks:
        if not os.path.exists(argv[0]):
            return f"{argv[0]} is missing"
        rc, out, err = module.run_command(argv)
        if rc != 0:
            tail = "\n".join((err or out).strip().splitlines()[-5:])
            return f"{' '.join(argv)} failed (exit {rc}): {tail}"
    return ""


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
            "imports": {"type": "list", "elements": "str", "default": []},
            "commands": {"type": "list", "elements": "str", "default": []},
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
    result = {"changed": False, "pip_ran": False, "created": False, "repaired": ""}

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
        # The stamp says installed; the files must say so too (an install
        # killed midway, a hand-deleted package). uv and pip would take a
        # half-installed package for an installed one: rebuild.
        result["repaired"] = venv_problem(venv, module.params["requirements"])
        if not result["repaired"]:
            module.exit_json(**result)
        created = True
    result.update(changed=True, pip_ran=True, created=created)
    if module.check_mode:
        module.exit_json(**result)

    with contextlib.suppress(FileNotFoundError):
        os.unlink(stamp_path)  # an install that stops midway must leave no stamp behind
    problem = install(module, venv, venv_python, requirements, constraints, created)
    if problem and not created:
        # An earlier install stopped midway left packages the installer
        # takes for installed: start from an empty venv once.
        result.update(created=True, repaired=problem)
        problem = install(module, venv, venv_python, requirements, constraints, True)
    if problem:
        module.fail_json(msg=f"the venv {venv} fails its check after the install: {problem}", **result)
    _rc, out, _err = module.run_command([venv_python, "-c", "import sys; print(sys.version)"])
    with open(stamp_path, "w", encoding="ascii") as handle:
        handle.write(stamp_of(out.strip()) + "\n")
    module.exit_json(**result)


def install(module, venv, venv_python, requirements, constraints, create):
    """Create the venv when asked, install, then check it; returns the check's problem ("" when fine)."""
    result = {"changed": True, "pip_ran": True, "created": create}
    if create:
        rc, out, err = module.run_command([module.params["python"], "-m", "venv", "--clear", venv])
        if rc != 0:
            module.fail_json(msg=f"{module.params['python']} -m venv {venv} failed: {(err or out).strip()}", **result)
    req_path = os.path.join(venv, "requirements-daskhub.txt")
    con_path = os.path.join(venv, "constraints-daskhub.txt")
    for path, text in ((req_path, requirements), (con_path, constraints)):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    command = _install_command(module, venv_python, req_path)
    if constraints:
        command += ["-c", con_path]
    rc, out, err = module.run_command(command + module.params["extra_args"])
    if rc != 0 and not create:
        # A package an interrupted install left half written can stop the
        # installer itself (uv: "Failed to read metadata from installed
        # package"): the caller starts from an empty venv once.
        return _failure(venv, module.params["installer"], rc, out, err)
    if rc != 0:
        module.fail_json(msg=_failure(venv, module.params["installer"], rc, out, err), **result)
    return venv_problem(venv, module.params["requirements"]) or _check(module, venv_python)


if __name__ == "__main__":
    main()
