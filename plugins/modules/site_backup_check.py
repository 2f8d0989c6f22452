#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Checks a site backup before a restore changes anything."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: site_backup_check
short_description: Check a backup of playbooks/backup.yml before playbooks/restore.yml changes anything
description:
  - Reads the backup's C(manifest.json) and fails, with every reason at once
    and the variable to change, when the folder is missing, a file is
    missing or corrupted (its sha256 differs from the manifest's), the
    backup is another site's (unless O(allow_other_site)) or another
    target's, or its versions cannot go under the versions that will run
    (unless O(allow_version_mismatch)).
  - Versions. A backup of a newer JupyterHub or a newer collection than the
    one that will run is refused (a database never goes back to an older
    schema). A backup of an older JupyterHub is accepted when the hub
    upgrades its database at start (O(hub_upgrades_db); the local target's
    hub always does, after copying the sqlite file), else refused.
  - Reads only; never changes anything.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  path:
    description: The backup's folder (C(daskhub_restore_from)).
    type: path
    required: true
  site:
    description: This site's name.
    type: str
    required: true
  target:
    description: This site's target.
    type: str
    required: true
  versions:
    description:
      - The versions that will run after the restore (C(jupyterhub), C(collection)).
      - Unknown ones are not compared.
    type: dict
    default: {}
  hub_upgrades_db:
    description: Whether the hub migrates an older database at start (JupyterHub.upgrade_db).
    type: bool
    default: false
  allow_other_site:
    description: Restore a backup of another site (C(daskhub_restore_allow_other_site)).
    type: bool
    default: false
  allow_version_mismatch:
    description: Skip the version check (C(daskhub_restore_allow_version_mismatch)).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: It only reads.
  diff_mode:
    description: Shows no diff; there is no file or list to compare.
    support: none
"""

EXAMPLES = r"""
- name: Check the backup
  daskhub.deploy.site_backup_check:
    path: /srv/daskhub/backups/local-20260301T023000Z
    site: local
    target: local
    versions: {jupyterhub: 5.5.4, collection: 0.1.0}
    hub_upgrades_db: true
"""

RETURN = r"""
manifest:
  description: The backup's manifest (no secret in it), as M(daskhub.deploy.site_backup) wrote it.
  returned: success
  type: dict
  sample:
    {format: 1, time: "2026-03-01T02:30:00Z", site: example-site, target: kubernetes,
     versions: {collection: 0.1.0, dask_gateway: 2026.3.0, jupyterhub: 5.5.4},
     files: {jupyterhub.sqlite: {sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,
                                 size: 163840},
             secrets.yml: {sha256: fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13, size: 2811}},
     accounts: [],
     notes: ["The gateway runs the kube backend: it has no database (its clusters are DaskCluster resources,
              which end with their users' sessions), so there is none in the backup."]}
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork
from ansible_collections.daskhub.deploy.plugins.module_utils.state import backups

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "site": {"type": "str", "required": True},
    "target": {"type": "str", "required": True},
    "versions": {"type": "dict", "default": {}},
    "hub_upgrades_db": {"type": "bool", "default": False},
    "allow_other_site": {"type": "bool", "default": False},
    "allow_version_mismatch": {"type": "bool", "default": False},
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, backups.run_restore_check, (backups.BackupError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
