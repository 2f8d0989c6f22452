#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Backs a live SQLite database up to a timestamped file."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sqlite_backup
short_description: Copy a live SQLite database (the hub's) to a timestamped backup file
description:
  - Writes C(<dest_dir>/<prefix>-<UTC timestamp>.sqlite) (O(dest_dir), O(prefix)) with SQLite's
    online backup, so a service writing the database at the same time
    cannot leave a torn copy. The file is mode 0600, its folder 0700.
  - With O(dest), the copy goes to that exact file instead (C(playbooks/backup.yml)
    collects a site's files under fixed names).
  - Used by C(playbooks/upgrade.yml) and C(playbooks/uninstall.yml) before
    they touch the local target, and by C(playbooks/backup.yml).
  - Always reports C(changed) (a new file) unless the database is missing
    and O(missing_ok) is set.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  src:
    description: The database file.
    type: path
    required: true
  dest_dir:
    description: Folder of the backups; created when missing. Required without O(dest).
    type: path
  prefix:
    description: File name prefix of the backup.
    type: str
    default: jupyterhub
  dest:
    description: The backup file to write, instead of a timestamped one in O(dest_dir) (whose folder is then created).
    type: path
  missing_ok:
    description: Succeed without a backup when O(src) does not exist (nothing was deployed yet).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports the backup it would write.
  diff_mode:
    description: Shows no diff; there is no file or list to compare.
    support: none
"""

EXAMPLES = r"""
- name: Back up the hub database before an upgrade
  daskhub.deploy.sqlite_backup:
    src: /opt/daskhub/state/jupyterhub.sqlite
    dest_dir: /opt/daskhub/state/backups

- name: Copy the hub database into a site backup's folder
  daskhub.deploy.sqlite_backup:
    src: /opt/daskhub/state/jupyterhub.sqlite
    dest: /tmp/daskhub-backup/jupyterhub.sqlite
"""

RETURN = r"""
path:
  description: The backup written (empty when O(missing_ok) found no database).
  returned: always
  type: str
  sample: /opt/daskhub/state/backups/jupyterhub-20260301T120000Z.sqlite
"""

import os
import sqlite3

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskhub.deploy.plugins.module_utils.model.operations import sqlite_backup, timestamp
from ansible_collections.daskhub.deploy.plugins.module_utils.state.sqlite_copy import online_copy


def main():
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest_dir": {"type": "path"},
            "dest": {"type": "path"},
            "prefix": {"type": "str", "default": "jupyterhub"},
            "missing_ok": {"type": "bool", "default": False},
        },
        required_one_of=[("dest_dir", "dest")],
        mutually_exclusive=[("dest_dir", "dest")],
        supports_check_mode=True,
    )
    params = module.params
    if not os.path.isfile(params["src"]):
        if params["missing_ok"]:
            module.exit_json(changed=False, path="")
        module.fail_json(msg=f"no database to back up at {params['src']}")
    dest = params["dest"] or os.path.join(params["dest_dir"], f"{params['prefix']}-{timestamp()}.sqlite")
    if module.check_mode:
        module.exit_json(changed=True, path=dest)
    try:
        if params["dest"]:
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
            path = online_copy(params["src"], dest)
        else:
            path = sqlite_backup(params["src"], params["dest_dir"], params["prefix"])
    except (OSError, sqlite3.Error) as err:
        module.fail_json(msg=f"backing {params['src']} up into {dest} failed: {err}")
    module.exit_json(changed=True, path=path)


if __name__ == "__main__":
    main()
