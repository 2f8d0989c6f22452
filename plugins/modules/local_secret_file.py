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
import secrets
import stat

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True, "no_log": False},
            "size": {"type": "int", "default": 32},
            "encoding": {"type": "str", "default": "base64", "choices": ["base64", "hex"]},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    changed = False
    if os.path.exists(path):
        if stat.S_IMODE(os.stat(path).st_mode) != 0o600:
            changed = True
            if not module.check_mode:
                os.chmod(path, 0o600)
        module.exit_json(changed=changed, path=path)
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
    module.exit_json(changed=True, path=path)


if __name__ == "__main__":
    main()
