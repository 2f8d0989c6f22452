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
    O(group) equal O(users). Missing ones are created with a home directory,
    accounts in the group that are no longer users are removed (their home
    directory is kept, so no data is lost by a typo in the user list). New
    homes are mode 0700, so only their user reads them.
  - Accounts that exist but are not in O(group) were not made by us; they
    are used as they are and never removed.
  - One call for all users, so the play never loops over users.
  - With O(state=absent) (uninstall with purge), removes the accounts of
    O(users) that are members of O(group), their homes too with
    O(remove_home), and the group once it has no member left. Accounts not
    in the group are never touched. Run it after their processes are gone
    (C(local_leftover_processes)), because C(userdel) refuses an account that still
    runs a process, and the module then fails, naming it. In check mode it
    lists them (what uninstall reports as left behind).
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
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
  state:
    description: C(present) makes the group's accounts equal O(users); C(absent) removes those of O(users).
    type: str
    choices: [present, absent]
    default: present
  remove_home:
    description: With O(state=absent), remove the accounts' home directories too.
    type: bool
    default: false
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

- name: Remove them and their homes (uninstall with purge)
  daskhub.deploy.local_system_users:
    users: [admin, alice, bob]
    state: absent
    remove_home: true
"""

RETURN = r"""
created:
  description: Accounts created.
  returned: always
  type: list
  elements: str
  sample: [carol]
removed:
  description: >-
    Accounts removed (with O(state=present) their homes are kept; with
    O(state=absent) removed with O(remove_home)).
  returned: always
  type: list
  elements: str
  sample: [mallory]
accounts:
  description: >-
    With O(state=absent), the accounts of O(users) in O(group) before the call
    (the ones removed, or in check mode the ones left), with their homes.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "alice", "home": "/home/alice"}]
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host.system_users import (
    HUB_USERS_GROUP,
    ensure_system_users,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    "users": {"type": "list", "elements": "str", "required": True},
    "group": {"type": "str", "default": HUB_USERS_GROUP},
    "shell": {"type": "str", "default": "/bin/bash"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "remove_home": {"type": "bool", "default": False},
}


MODULE_WORK = ModuleWork(
    ARGUMENT_SPEC, lambda module: ensure_system_users(module.run_command, module.params, module.check_mode, module.warn)
)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
