#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Provides an interpreter every account can run, for the local target's venv."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_shared_python
short_description: Provide a Python interpreter that unprivileged accounts can run
description:
  - The local target's venv is made from one interpreter, and with system
    accounts (or one unprivileged service account) notebooks and Dask
    clusters run under other accounts than root, so that interpreter must be
    runnable by them. The one Ansible runs often is not (a pyenv under
    C(/root), mode 0700).
  - Runs I(python) as I(probe_user) (importing C(ssl), C(sqlite3), C(ctypes)
    and C(venv)). When that works, I(python) is returned unchanged.
  - Otherwise copies the interpreter's installation into I(dest) (the real
    binary as C(bin/python3.X) with C(python3) and C(python) links, a shared
    libpython, the standard library without C(site-packages), C(test),
    C(idlelib), C(tkinter), C(turtledemo) and the static libpython, the C headers, an empty
    C(site-packages)), world-readable, and returns the copy. CPython finds its
    prefix from the binary's location, so the copy uses its own standard library.
  - The copied binary's RUNPATH (or RPATH) is rewritten to C($ORIGIN/../lib)
    when it names the old library directory, in place (no patchelf needed);
    this needs the old string to be at least as long.
  - The copy is built in a temporary directory beside I(dest), checked by
    running it as I(probe_user), and only then moved to I(dest), so a failed
    run never leaves a half copy. A stamp file in I(dest) records the source;
    a later run with the same source copies nothing.
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  python:
    description:
      - The candidate interpreter, for example the one Ansible runs modules
        with. A venv's python is followed to its installation's binary.
      - Usually the role variable C(daskhub_local_python); messages about it name that variable.
    type: path
    required: true
  dest:
    description:
      - Directory the copy goes to, for example C(<prefix>/python). Only used
        when I(python) cannot be run by I(probe_user).
      - Must be absolute; every directory above it must be searchable by other
        users. An existing I(dest) is replaced only when this module made it
        (it holds the stamp file) or it is empty.
    type: path
    required: true
  probe_user:
    description:
      - Unprivileged account the interpreter is tried as (with its primary group and no other groups).
      - Trying another account than the one running the module needs root.
    type: str
    default: nobody
attributes:
  check_mode:
    support: full
    description: Runs the interpreter and the existing copy (read-only) and reports whether a copy would be made.
notes:
  - Copies about 95 MB for a CPython 3.12 installation with a shared libpython.
  - Only ELF64 little-endian binaries (x86_64, aarch64, ppc64le) can be relocated.
"""

EXAMPLES = r"""
- name: Provide an interpreter every hub user can run
  daskhub.deploy.local_shared_python:
    python: "{{ daskhub_local_python_path }}"
    dest: /opt/daskhub/python
  register: daskhub_local_shared_python

- name: Make the venv from it
  daskhub.deploy.local_venv:
    venv: /opt/daskhub/venv
    python: "{{ daskhub_local_shared_python.python }}"
    requirements: [jupyterhub==5.5.4]
"""

RETURN = r"""
python:
  description: The interpreter to make the venv from, the copy's C(bin/python3.X) or I(python) itself.
  returned: always
  type: str
  sample: /opt/daskhub/python/bin/python3.12
copied:
  description: Whether RV(python) is a copy in I(dest) (made now or kept from an earlier run).
  returned: always
  type: bool
version:
  description: The interpreter's Python version.
  returned: always
  type: str
  sample: 3.12.1
source:
  description: The installation's real binary that I(python) runs (not a venv's link).
  returned: always
  type: str
  sample: /root/.pyenv/versions/3.12.1/bin/python3.12
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskhub.deploy.plugins.module_utils.host.shared_python import SharedPythonError, provide


def main():
    module = AnsibleModule(
        argument_spec={
            "python": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "probe_user": {"type": "str", "default": "nobody"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = provide(params["python"], params["dest"], params["probe_user"], check_mode=module.check_mode)
    except SharedPythonError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
