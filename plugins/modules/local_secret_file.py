#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Creates a random key file once and keeps it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_secret_file
short_description: Create a random key file once, mode 0600, and never print it
description:
  - Writes I(size) random bytes, encoded, to I(path) when the file does not
    exist yet; an existing file is kept as it is (its mode is corrected), so
    data encrypted with it stays readable across runs and upgrades.
  - Used for keys that only the local host needs, such as the Dask Gateway
    database encryption key. Shared secrets live in the secrets store.
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  path:
    description: File to create.
    type: path
    required: true
  size:
    description: Number of random bytes.
    type: int
    default: 32
  encoding:
    description: C(base64) (URL-safe, what Fernet keys use) or C(hex).
    type: str
    choices: [base64, hex]
    default: base64
  owner:
    description: Account that owns the file (and alone reads it); empty leaves the owner alone.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Reports whether the file would be created.
"""

EXAMPLES = r"""
- name: Ensure the gateway database key
  daskhub.deploy.local_secret_file:
    path: /opt/daskhub/state/dask_gateway_db.key
"""

RETURN = r"""
path:
  description: The key file.
  returned: always
  type: str
"""

import base64
import os
import pwd
import secrets
import stat

from ansible.module_utils.basic import AnsibleModule


def _account(module):
    """(uid, gid) of the owner option, or None."""
    name = module.params["owner"]
    if not name:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if module.check_mode:  # an earlier task of the same run creates it
            return None
        module.fail_json(msg=f"owner {name!r} is not an account on this host")
    return entry.pw_uid, entry.pw_gid


def _correct(module, path, owner) -> bool:
    """Mode 0600 and the owner; True when something was (or would be) changed."""
    info = os.stat(path)
    changed = False
    if stat.S_IMODE(info.st_mode) != 0o600:
        changed = True
        if not module.check_mode:
            os.chmod(path, 0o600)
    if owner and (info.st_uid, info.st_gid) != owner:
        changed = True
        if not module.check_mode:
            os.chown(path, *owner)
    return changed


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True, "no_log": False},
            "size": {"type": "int", "default": 32},
            "encoding": {"type": "str", "default": "base64", "choices": ["base64", "hex"]},
            "owner": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    owner = _account(module)
    if os.path.exists(path):
        module.exit_json(changed=_correct(module, path, owner), path=path)
    if module.check_mode:
        module.exit_json(changed=True, path=path)
    raw = secrets.token_bytes(module.params["size"])
    text = base64.urlsafe_b64encode(raw).decode() if module.params["encoding"] == "base64" else raw.hex()
    # O_EXCL: never overwrite a key another run created meanwhile.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        module.exit_json(changed=False, path=path)
    except OSError as err:
        module.fail_json(msg=f"cannot create {path}: {err.strerror}")
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    _correct(module, path, owner)
    module.exit_json(changed=True, path=path)


if __name__ == "__main__":
    main()
