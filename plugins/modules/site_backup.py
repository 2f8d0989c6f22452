#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Seals one backup of a site: modes, manifest, retention, the last backup's status."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_backup
short_description: Write a site backup's manifest, apply the retention, record the last backup's result
description:
  - Run on the controller by C(playbooks/backup.yml) once the backup's files are
    in O(path). It makes the folder 0700 and its files 0600, writes
    C(manifest.json) (the time in UTC, the site, the target, the versions, each
    file's sha256 and size, the hub users' system accounts), removes all but
    the newest O(keep) backups of the site in the folder above O(path), and
    writes O(status_file) (C(time), C(ok), C(path)).
  - With O(state=failed) it only records a failed backup in O(status_file).
  - The manifest holds no secret; the files it lists do, and are never read into the result.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  path:
    description: The backup's folder, holding its files.
    type: path
    required: true
  site:
    description: The site's name (the inventory's folder name).
    type: str
    required: true
  target:
    description: The site's target.
    type: str
    choices: [local, kubernetes]
    required: true
  versions:
    description: The versions running (C(jupyterhub), C(dask_gateway), C(collection)); empty ones are left out.
    type: dict
    default: {}
  accounts:
    description: The local target's hub users' system accounts, each C(name) and C(uid).
    type: list
    elements: dict
    default: []
  notes:
    description: Lines for the operator, kept in the manifest (what the backup does not hold, and why).
    type: list
    elements: str
    default: []
  keep:
    description: How many backups of the site to keep (the newest).
    type: int
    default: 7
  status_file:
    description: Where the last backup's result goes (JSON, 0600).
    type: path
    required: true
  state:
    description: C(present) seals the backup; C(failed) only records a failed backup.
    type: str
    choices: [present, failed]
    default: present
  error:
    description: With O(state=failed), what went wrong (no secret).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Writes nothing; reports the backups the retention would remove.
  diff_mode:
    description: Shows no diff; there is no file or list to compare.
    support: none
"""

EXAMPLES = r"""
- name: Seal the backup
  daskhub.deploy.site_backup:
    path: /srv/daskhub/backups/local-20260301T023000Z
    site: local
    target: local
    versions: {jupyterhub: 5.5.4, dask_gateway: 2026.3.0, collection: 0.1.0}
    keep: 7
    status_file: /srv/daskhub/state/backups/last-backup.json
"""

RETURN = r"""
manifest:
  description: The manifest written (no secret), as C(manifest.json) in the backup holds it.
  returned: state=present
  type: dict
  sample:
    format: 1
    time: "2026-03-01T02:30:00Z"
    site: local
    target: local
    versions: {collection: 0.1.0, dask_gateway: 2026.3.0, jupyterhub: 5.5.4}
    files:
      jupyterhub.sqlite: {sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08, size: 163840}
      dask_gateway.sqlite: {sha256: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752, size: 53248}
      secrets.yml: {sha256: fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13, size: 2811}
    accounts: [{name: alice, uid: 1001}, {name: bob, uid: 1002}]
    notes: []
removed:
  description: The older backups the retention removed (or would, in check mode).
  returned: state=present
  type: list
  elements: str
  sample: [/srv/daskhub/backups/local-20260222T023000Z]
status:
  description: What O(status_file) holds.
  returned: always
  type: dict
  sample: {time: "2026-03-01T02:30:00Z", ok: true, path: /srv/daskhub/backups/local-20260301T023000Z}
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork
from ansible_collections.daskhub.deploy.plugins.module_utils.state import backups

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "site": {"type": "str", "required": True},
    "target": {"type": "str", "required": True, "choices": ["local", "kubernetes"]},
    "versions": {"type": "dict", "default": {}},
    "accounts": {"type": "list", "elements": "dict", "default": []},
    "notes": {"type": "list", "elements": "str", "default": []},
    "keep": {"type": "int", "default": 7},
    "status_file": {"type": "path", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "failed"]},
    "error": {"type": "str", "default": ""},
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, backups.run_backup, (backups.BackupError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
