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

from ansible_collections.daskhub.deploy.plugins.module_utils.model import operations
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    "src": {"type": "path", "required": True},
    "dest_dir": {"type": "path"},
    "dest": {"type": "path"},
    "prefix": {"type": "str", "default": "jupyterhub"},
    "missing_ok": {"type": "bool", "default": False},
}

MODULE_WORK = ModuleWork(
    ARGUMENT_SPEC,
    operations.back_up_database,
    (operations.DatabaseBackupError,),
    {"required_one_of": [("dest_dir", "dest")], "mutually_exclusive": [("dest_dir", "dest")]},
)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
