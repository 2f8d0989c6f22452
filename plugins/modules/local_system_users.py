#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""System accounts for the hub users of the local target."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_system_users
short_description: Create and remove the system account of each local DaskHub user in one call
description:
  - With C(daskhub_local_system_users), the local target spawns notebooks and
    Dask clusters as the user's own system account (LocalProcessSpawner and
    the gateway's LocalBackend). This module makes the set of accounts in
    I(group) equal I(users). Missing ones are created with a home directory,
    accounts in the group that are no longer users are removed (their home
    directory is kept, so no data is lost by a typo in the user list). New
    homes are mode 0700, so only their user reads them.
  - Accounts that exist but are not in I(group) were not made by us; they
    are used as they are and never removed.
  - One call for all users, so the play never loops over users.
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  users:
    description: Hub user names that need an account.
    type: list
    elements: str
    required: true
  group:
    description: Group that marks the accounts this module manages.
    type: str
    default: daskhub-users
  shell:
    description: Login shell of new accounts.
    type: str
    default: /bin/bash
attributes:
  check_mode:
    support: full
    description: Reports the accounts it would create and remove.
notes:
  - Needs root, C(useradd), C(userdel), C(groupadd) and C(gpasswd).
"""

EXAMPLES = r"""
- name: Accounts for the hub users
  daskhub.deploy.local_system_users:
    users: [admin, alice, bob]
"""

RETURN = r"""
created:
  description: Accounts created.
  returned: always
  type: list
  elements: str
removed:
  description: Accounts removed (homes kept).
  returned: always
  type: list
  elements: str
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskhub.deploy.plugins.module_utils.model_validation import account_problem


def main():
    module = AnsibleModule(
        argument_spec={
            "users": {"type": "list", "elements": "str", "required": True},
            "group": {"type": "str", "default": "daskhub-users"},
            "shell": {"type": "str", "default": "/bin/bash"},
        },
        supports_check_mode=True,
    )
    users = sorted(set(module.params["users"]))
    group = module.params["group"]
    bad = [name for name in users if account_problem(name)]
    if bad:
        module.fail_json(msg="not usable as system account names: " + ", ".join(bad))
    result = {"changed": False, "created": [], "removed": []}
    try:
        members = set(grp.getgrnam(group).gr_mem)
        group_exists = True
    except KeyError:
        members, group_exists = set(), False
    existing = {entry.pw_name for entry in pwd.getpwall()}
    to_create = [name for name in users if name not in existing]
    to_remove = sorted(members - set(users))
    result["created"], result["removed"] = to_create, to_remove
    result["changed"] = bool(to_create or to_remove or not group_exists)
    if module.check_mode or not result["changed"]:
        module.exit_json(**result)

    def run(*args):
        rc, out, err = module.run_command(list(args))
        if rc != 0:
            module.fail_json(msg=f"{' '.join(args)} failed: {(err or out).strip()}", **result)

    if not group_exists:
        run("groupadd", "--system", group)
    for name in to_create:
        # HOME_MODE: a home only its user can read (Debian's default follows
        # the umask, 0755), so users cannot read each other's files.
        run(
            "useradd",
            "--create-home",
            "--key",
            "HOME_MODE=0700",
            "--shell",
            module.params["shell"],
            "--groups",
            group,
            name,
        )
    for name in to_remove:
        run("userdel", name)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
