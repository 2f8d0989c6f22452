# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A site's backups on the controller: the manifest, retention, the last backup's status, restore's checks.

A backup is one folder, ``<daskhub_backup_dir>/<site>-<UTC timestamp>/``
(0700), holding the files a site cannot recreate (the secrets store as it is
on disk, Vault-encrypted or not; the hub database; on the local target the
gateway database and its key), each 0600, and ``manifest.json``: when, which
site and target, the versions running, each file's sha256 and size, and the
local target's hub users' system accounts. playbooks/backup.yml writes it
(modules/site_backup.py), playbooks/restore.yml checks it before anything
changes (modules/site_backup_check.py).

Pure Python (the standard library only).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil

from ansible_collections.daskhub.deploy.plugins.module_utils import atomic_file
from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import version_tuple
from ansible_collections.daskhub.deploy.plugins.module_utils.state import run_records

MANIFEST = "manifest.json"
FORMAT = 1
# The variables restore's messages name.
RESTORE_FROM = "daskhub_restore_from"
ALLOW_OTHER_SITE = "daskhub_restore_allow_other_site"
ALLOW_VERSIONS = "daskhub_restore_allow_version_mismatch"


class BackupError(Exception):
    """A backup that cannot be written or read; the message names the path."""


def now_utc(now=None) -> datetime.datetime:
    return now or datetime.datetime.now(tz=datetime.UTC)


def backup_name(site: str, now=None) -> str:
    """The folder of one backup: <site>-<20260301T120000Z>; sorts by time within a site."""
    return f"{site}-{now_utc(now).strftime('%Y%m%dT%H%M%SZ')}"


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: str) -> list[str]:
    return sorted(
        name
        for name in os.listdir(directory)
        if name != MANIFEST and not name.startswith(".") and os.path.isfile(os.path.join(directory, name))
    )


def secure(directory: str) -> None:
    """The backup's folder 0700, its files 0600: it holds secrets."""
    os.chmod(directory, 0o700)
    for name in _files(directory):
        os.chmod(os.path.join(directory, name), 0o600)


def build_manifest(directory: str, site: str, target: str, versions: dict, accounts=None, notes=None, now=None):
    """The manifest of the files in ``directory`` (no secret in it: names, sizes, hashes)."""
    files = {}
    for name in _files(directory):
        path = os.path.join(directory, name)
        files[name] = {"sha256": sha256_file(path), "size": os.path.getsize(path)}
    if not files:
        raise BackupError(f"{directory} holds no file to back up")
    return {
        "format": FORMAT,
        "time": run_records.iso_time(now),
        "site": site,
        "target": target,
        "versions": {key: str(value) for key, value in sorted((versions or {}).items()) if value not in (None, "")},
        "files": files,
        "accounts": sorted(accounts or [], key=lambda account: str(account.get("name"))),
        "notes": list(notes or []),
    }


def write_manifest(directory: str, manifest: dict) -> str:
    path = os.path.join(directory, MANIFEST)
    atomic_file.replace_atomically(path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(), 0o600)
    return path


def read_manifest(directory: str) -> dict:
    """The manifest of the backup in ``directory``; BackupError names daskhub_restore_from."""
    if not directory:
        raise BackupError(f"{RESTORE_FROM} is not set: name the backup's folder (-e {RESTORE_FROM}=<folder>)")
    if not os.path.isdir(directory):
        raise BackupError(f"{RESTORE_FROM}={directory}: no such folder")
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        raise BackupError(f"{RESTORE_FROM}={directory}: no {MANIFEST}, not a backup of playbooks/backup.yml") from None
    except (OSError, ValueError) as err:
        raise BackupError(f"{RESTORE_FROM}={directory}: {MANIFEST} cannot be read: {err}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{RESTORE_FROM}={directory}: {MANIFEST} has no list of files")
    return manifest


def file_errors(directory: str, manifest: dict, required=()) -> list[str]:
    """Every file of the manifest present with its sha256; ``required`` names among them."""
    errors = []
    listed = manifest.get("files", {})
    for name in required:
        if name not in listed:
            errors.append(f"{RESTORE_FROM}={directory}: the backup has no {name}")
    for name, entry in sorted(listed.items()):
        path = os.path.join(directory, name)
        if os.path.basename(name) != name:
            errors.append(f"{RESTORE_FROM}={directory}: {MANIFEST} names a file outside the backup: {name}")
        elif not os.path.isfile(path):
            errors.append(f"{RESTORE_FROM}={directory}: {name} is missing")
        elif sha256_file(path) != (entry or {}).get("sha256"):
            errors.append(f"{RESTORE_FROM}={directory}: {name} is corrupted (its sha256 differs from the manifest's)")
    return errors


def version_errors(backup: dict, running: dict, hub_upgrades_db: bool) -> list[str]:
    """Why a backup's versions cannot go under the versions that will run; empty when they can.

    A database is never downgraded: a backup of a newer JupyterHub, or of a
    newer collection (whose files may differ), is refused. An older
    JupyterHub's database is migrated by the hub at start when it runs with
    JupyterHub.upgrade_db (the local target always does, after copying the
    sqlite file); otherwise refused. Unknown versions are not compared.
    """
    errors = []
    override = f"set {ALLOW_VERSIONS}=true to restore it anyway"
    for key, what in (("jupyterhub", "JupyterHub"), ("collection", "the daskhub.deploy collection")):
        old, new = backup.get(key), running.get(key)
        if not old or not new or version_tuple(old) == version_tuple(new):
            continue
        if version_tuple(old) > version_tuple(new):
            errors.append(
                f"the backup was taken with {what} {old}, newer than the {new} this site runs: "
                f"its data cannot go back to an older version; upgrade the site first, or {override}"
            )
        elif key == "jupyterhub" and not hub_upgrades_db:
            errors.append(
                f"the backup's hub database is from JupyterHub {old}, older than the {new} this site runs, and the hub "
                "does not upgrade its database at start here (Kubernetes: set hub.db.upgrade: true in "
                f"daskhub_extra_values), or {override}"
            )
    return errors


def restore_errors(directory: str, site: str, target: str, running: dict, hub_upgrades_db: bool, **allow):
    """(manifest or None, every reason the backup in ``directory`` cannot be restored to this site)."""
    try:
        manifest = read_manifest(directory)
    except BackupError as err:
        return None, [str(err)]
    errors = []
    if manifest.get("site") != site and not allow.get("other_site"):
        errors.append(
            f"{RESTORE_FROM}={directory} is a backup of site {manifest.get('site')!r}, not of {site!r}; "
            f"set {ALLOW_OTHER_SITE}=true to restore it here"
        )
    if manifest.get("target") != target:
        errors.append(
            f"{RESTORE_FROM}={directory} is a backup of a {manifest.get('target')} site; this site's "
            f"daskhub_target is {target}"
        )
    required = ["secrets.yml", "jupyterhub.sqlite"]
    errors.extend(file_errors(directory, manifest, required))
    if not allow.get("version_mismatch"):
        errors.extend(version_errors(manifest.get("versions") or {}, running, hub_upgrades_db))
    return manifest, errors


def backups_of(root: str, site: str) -> list[str]:
    """The backup folders of ``site`` under ``root`` (those with a manifest), oldest first."""
    if not os.path.isdir(root):
        return []
    pattern = re.compile(re.escape(site) + r"-\d{8}T\d{6}Z$")
    found = [
        os.path.join(root, name)
        for name in os.listdir(root)
        if pattern.match(name) and os.path.isfile(os.path.join(root, name, MANIFEST))
    ]
    return sorted(found)


def prune(root: str, site: str, keep: int, check: bool = False) -> list[str]:
    """Remove all but the newest ``keep`` backups of ``site`` in ``root``; returns the removed folders.

    Only folders named like a backup of this site and holding a manifest
    are counted or removed: the upgrades' sqlite copies and anything else
    the operator keeps there stay.
    """
    if keep < 1:
        raise BackupError(f"daskhub_backup_keep={keep}: keep at least one backup")
    old = backups_of(root, site)[:-keep]
    if not check:
        for path in old:
            shutil.rmtree(path)
    return old


def write_status(path: str, ok: bool, backup_path: str, now=None, error: str = "") -> dict:
    """The last backup's result, read by status.yml: {time, ok, path[, error]} (0600)."""
    return run_records.write(path, ok, 0o600, now=now, path=backup_path, **({"error": error} if error else {}))


_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$|^[A-Za-z]{3}(-[A-Za-z]{3})?$")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def cron_fields(expression: str, variable: str = "daskhub_backup_schedule") -> list[str]:
    """The five fields of a cron expression (minute hour day month weekday); ValueError names ``variable``."""
    fields = str(expression or "").split()
    if len(fields) != 5:
        raise ValueError(
            f"{variable}={expression!r}: a cron expression has five fields (minute hour day-of-month month "
            "day-of-week), for example '30 2 * * *' (every night at 02:30)"
        )
    names = ("minute", "hour", "day", "month", "weekday")
    for field, (low, high), name in zip(fields, _CRON_RANGES, names, strict=True):
        ranges = [part.split("/")[0] for part in field.split(",")]
        numbers = [int(n) for part in ranges for n in re.findall(r"\d+", part)] if _CRON_FIELD.match(field) else None
        if numbers is None or any(n < low or n > high for n in numbers):
            raise ValueError(f"{variable}={expression!r}: the {name} field {field!r} is not cron's ({low}-{high})")
    return fields


def run_restore_check(module) -> dict:
    """The site_backup_check module's work (``module_run.ModuleWork``): the manifest, or every reason at once."""
    p = module.params
    versions = {key: str(value) for key, value in p["versions"].items() if value not in (None, "")}
    manifest, errors = restore_errors(
        p["path"],
        p["site"],
        p["target"],
        versions,
        p["hub_upgrades_db"],
        other_site=p["allow_other_site"],
        version_mismatch=p["allow_version_mismatch"],
    )
    if errors:
        raise BackupError("Cannot restore, nothing was changed:\n- " + "\n- ".join(errors))
    return {"changed": False, "manifest": manifest}


def run_backup(module) -> dict:
    """The site_backup module's work (``module_run.ModuleWork``): seal the backup in ``path``, or record its failure.

    A failure raises BackupError naming the backup.
    """
    p, check = module.params, module.check_mode
    if p["state"] != "failed" and not check and not os.path.isdir(p["path"]):
        raise BackupError(f"no backup folder at {p['path']}")
    try:
        return _seal(p, check)
    except (OSError, BackupError) as err:
        raise BackupError(f"backup {p['path']}: {err}") from None


def _seal(p: dict, check: bool) -> dict:
    if p["state"] == "failed":
        status = {"time": run_records.iso_time(), "ok": False, "path": p["path"], "error": p["error"]}
        if not check:
            status = write_status(p["status_file"], False, p["path"], error=p["error"])
        return {"changed": True, "status": status}
    root = os.path.dirname(p["path"].rstrip("/"))
    if check and not os.path.isdir(p["path"]):
        # Check mode collected no file: only say what the retention would remove.
        found = backups_of(root, p["site"])
        removed = found[: max(len(found) - (p["keep"] - 1), 0)] if p["keep"] > 0 else []
        return {"changed": True, "manifest": {}, "removed": removed, "status": {}}
    if not check:
        secure(p["path"])
    manifest = build_manifest(p["path"], p["site"], p["target"], p["versions"], p["accounts"], p["notes"])
    if check:
        removed = backups_of(root, p["site"])[: -p["keep"]] if p["keep"] > 0 else []
        return {"changed": True, "manifest": manifest, "removed": removed, "status": {}}
    write_manifest(p["path"], manifest)
    removed = prune(root, p["site"], p["keep"])
    status = write_status(p["status_file"], True, p["path"])
    return {"changed": True, "manifest": manifest, "removed": removed, "status": status}
