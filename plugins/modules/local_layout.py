#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Creates the local target's directory tree in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_layout
short_description: Ensure a set of directories with their modes in one call
description:
  - Creates each directory (with parents) and sets its mode. One module call
    instead of a loop keeps a converge with nothing to do fast.
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  directories:
    description: Path -> mode (an octal string such as C("0700")).
    type: dict
    required: true
  owner:
    description:
      - Account that must own I(owned) and everything in them (the service
        account of the shared-uid mode). Empty leaves ownership alone.
      - A directory owned by another account is handed over with its
        contents, as after a switch from a root-run stack.
    type: str
    default: ""
  owned:
    description: The paths of I(directories) that I(owner) owns.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what it would create or change.
"""

EXAMPLES = r"""
- name: Create the prefix layout
  daskhub.deploy.local_layout:
    directories:
      /opt/daskhub: "0755"
      /opt/daskhub/state: "0700"
"""

RETURN = r"""
owners_changed:
  description: Directories handed over to I(owner), with their contents.
  returned: always
  type: list
  elements: str
created:
  description: Directories created.
  returned: always
  type: list
  elements: str
modes_changed:
  description: Existing directories whose mode was corrected.
  returned: always
  type: list
  elements: str
"""

import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def hand_over(path: str, uid: int, gid: int) -> None:
    """Make ``path`` and everything below it belong to uid:gid (links themselves, never their targets)."""
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


def main():
    module = AnsibleModule(
        argument_spec={
            "directories": {"type": "dict", "required": True},
            "owner": {"type": "str", "default": ""},
            "owned": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    account = None
    if module.params["owner"]:
        try:
            account = pwd.getpwnam(module.params["owner"])
        except KeyError:
            if not module.check_mode:  # in check mode the account may be created by an earlier task
                module.fail_json(msg=f"owner {module.params['owner']!r} is not an account on this host")
    created, modes_changed = [], []
    for path, mode_text in sorted(module.params["directories"].items()):
        try:
            mode = int(str(mode_text), 8)
        except ValueError:
            module.fail_json(msg=f"{path}: mode {mode_text!r} is not an octal string such as '0755'")
        if os.path.isdir(path):
            if stat.S_IMODE(os.stat(path).st_mode) != mode:
                modes_changed.append(path)
                if not module.check_mode:
                    os.chmod(path, mode)
            continue
        if os.path.exists(path):
            module.fail_json(msg=f"{path} exists and is not a directory")
        created.append(path)
        if not module.check_mode:
            try:
                os.makedirs(path, exist_ok=True)
                os.chmod(path, mode)
            except OSError as err:
                module.fail_json(msg=f"cannot create {path}: {err.strerror}", created=created)
    owners_changed = []
    for path in sorted(module.params["owned"]) if account else []:
        if not os.path.isdir(path) or os.stat(path).st_uid != account.pw_uid:
            owners_changed.append(path)
            if not module.check_mode:
                hand_over(path, account.pw_uid, account.pw_gid)
    module.exit_json(
        changed=bool(created or modes_changed or owners_changed),
        created=created,
        modes_changed=modes_changed,
        owners_changed=owners_changed,
    )


if __name__ == "__main__":
    main()
