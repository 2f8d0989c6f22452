"""Unit tests of plugins/module_utils/state/backups.py: manifest, retention, status, restore's checks."""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.state import backups, sqlite_copy

MOMENT = datetime.datetime(2026, 3, 1, 2, 30, tzinfo=datetime.UTC)
VERSIONS = {"jupyterhub": "5.5.4", "dask_gateway": "2026.3.0", "collection": "0.1.0"}


def make_backup(root, site="local", now=MOMENT, versions=None, target="local"):
    """A backup folder as playbooks/backup.yml leaves it, sealed with its manifest."""
    versions = VERSIONS if versions is None else versions
    path = root / backups.backup_name(site, now)
    path.mkdir(parents=True)
    (path / "secrets.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    with sqlite3.connect(path / "jupyterhub.sqlite") as db:
        db.execute("create table users (name text)")
        db.execute("insert into users values ('alice')")
    db.close()
    manifest = backups.build_manifest(str(path), site, target, versions, [{"name": "alice", "uid": 1001}], now=now)
    backups.write_manifest(str(path), manifest)
    return path


def test_manifest_lists_each_file_with_its_sha256_time_site_and_versions(tmp_path):
    path = make_backup(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    assert path.name == "local-20260301T023000Z"
    assert manifest["time"] == "2026-03-01T02:30:00Z"
    assert (manifest["site"], manifest["target"]) == ("local", "local")
    assert manifest["versions"] == VERSIONS
    assert sorted(manifest["files"]) == ["jupyterhub.sqlite", "secrets.yml"]
    assert manifest["files"]["secrets.yml"]["sha256"] == backups.sha256_file(str(path / "secrets.yml"))
    assert manifest["accounts"] == [{"name": "alice", "uid": 1001}]
    assert stat.S_IMODE((path / "manifest.json").stat().st_mode) == 0o600


def test_secure_makes_the_folder_private(tmp_path):
    path = make_backup(tmp_path)
    os.chmod(path / "secrets.yml", 0o644)
    os.chmod(path, 0o755)  # noqa: S103  the state secure() corrects
    backups.secure(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()} == {0o600}


def test_an_empty_folder_is_no_backup(tmp_path):
    with pytest.raises(backups.BackupError, match="no file to back up"):
        backups.build_manifest(str(tmp_path), "local", "local", VERSIONS)


def test_retention_keeps_the_newest_of_the_site_and_nothing_else_goes(tmp_path):
    made = [make_backup(tmp_path, now=MOMENT + datetime.timedelta(days=day)) for day in range(5)]
    other_site = make_backup(tmp_path, site="other")
    (tmp_path / "jupyterhub-20260101T000000Z.sqlite").write_text("an upgrade's copy")
    no_manifest = tmp_path / "local-20250101T000000Z"
    no_manifest.mkdir()
    assert backups.prune(str(tmp_path), "local", 3, check=True) == [str(p) for p in made[:2]]
    assert all(p.exists() for p in made)
    removed = backups.prune(str(tmp_path), "local", 3)
    assert removed == [str(p) for p in made[:2]]
    assert [p.exists() for p in made] == [False, False, True, True, True]
    assert other_site.exists() and no_manifest.exists()
    assert (tmp_path / "jupyterhub-20260101T000000Z.sqlite").exists()


def test_retention_refuses_to_keep_nothing(tmp_path):
    with pytest.raises(backups.BackupError, match="daskhub_backup_keep=0"):
        backups.prune(str(tmp_path), "local", 0)


def test_last_backup_status_has_the_keys_status_reads(tmp_path):
    path = tmp_path / "state/backups/last-backup.json"
    backups.write_status(str(path), True, "/b/local-x", now=MOMENT)
    assert json.loads(path.read_text()) == {"time": "2026-03-01T02:30:00Z", "ok": True, "path": "/b/local-x"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    backups.write_status(str(path), False, "/b/local-y", now=MOMENT, error="no hub pod")
    assert json.loads(path.read_text())["ok"] is False


def check(path, site="local", target="local", running=None, upgrades=True, **allow):
    running = VERSIONS if running is None else running
    return backups.restore_errors(str(path), site, target, running, upgrades, **allow)


def test_a_good_backup_passes(tmp_path):
    manifest, errors = check(make_backup(tmp_path))
    assert errors == []
    assert manifest["site"] == "local"


@pytest.mark.parametrize("value", ["", "/nonexistent/backup"])
def test_a_missing_folder_names_the_variable(value):
    _, errors = backups.restore_errors(value, "local", "local", VERSIONS, True)
    assert len(errors) == 1
    assert errors[0].startswith("daskhub_restore_from")


def test_a_folder_without_manifest_is_refused(tmp_path):
    _, errors = check(tmp_path)
    assert errors == [f"daskhub_restore_from={tmp_path}: no manifest.json, not a backup of playbooks/backup.yml"]


def test_a_corrupted_file_is_named_by_its_sha256(tmp_path):
    path = make_backup(tmp_path)
    with open(path / "jupyterhub.sqlite", "ab") as handle:
        handle.write(b"x")
    (path / "secrets.yml").unlink()
    _, errors = check(path)
    assert errors == [
        f"daskhub_restore_from={path}: jupyterhub.sqlite is corrupted (its sha256 differs from the manifest's)",
        f"daskhub_restore_from={path}: secrets.yml is missing",
    ]


def test_a_manifest_naming_a_file_outside_is_refused(tmp_path):
    path = make_backup(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["../secrets.yml"] = {"sha256": "0"}
    (path / "manifest.json").write_text(json.dumps(manifest))
    _, errors = check(path)
    assert any("outside the backup: ../secrets.yml" in error for error in errors)


def test_another_sites_backup_is_refused_unless_allowed(tmp_path):
    path = make_backup(tmp_path, site="other")
    _, errors = check(path)
    assert errors == [
        f"daskhub_restore_from={path} is a backup of site 'other', not of 'local'; "
        "set daskhub_restore_allow_other_site=true to restore it here"
    ]
    assert check(path, other_site=True)[1] == []


def test_another_targets_backup_is_refused(tmp_path):
    _, errors = check(make_backup(tmp_path, target="kubernetes"))
    assert errors and "daskhub_target is local" in errors[0]


def test_a_newer_hub_or_collection_is_refused_naming_both_versions_and_the_override(tmp_path):
    path = make_backup(tmp_path, versions={**VERSIONS, "jupyterhub": "5.6.0", "collection": "0.2.0"})
    _, errors = check(path)
    assert len(errors) == 2
    assert "JupyterHub 5.6.0, newer than the 5.5.4" in errors[0]
    assert "collection 0.2.0, newer than the 0.1.0" in errors[1]
    assert all("daskhub_restore_allow_version_mismatch=true" in error for error in errors)
    assert check(path, version_mismatch=True)[1] == []


def test_an_older_hub_is_migrated_where_the_hub_upgrades_its_database(tmp_path):
    path = make_backup(tmp_path, versions={**VERSIONS, "jupyterhub": "4.1.6"})
    assert check(path, upgrades=True)[1] == []
    _, errors = check(path, upgrades=False)
    assert len(errors) == 1
    assert "JupyterHub 4.1.6, older than the 5.5.4" in errors[0]
    assert "hub.db.upgrade: true" in errors[0]


def test_unknown_versions_are_not_compared(tmp_path):
    path = make_backup(tmp_path, versions={"collection": "0.1.0"})
    assert check(path, running={"jupyterhub": "5.5.4", "collection": ""})[1] == []


@pytest.mark.parametrize("expression", ["30 2 * * *", "*/15 * * * 1-5", "0 3 1,15 * sun", "0 0 * * 7"])
def test_cron_expressions(expression):
    assert len(backups.cron_fields(expression)) == 5


@pytest.mark.parametrize(
    ("expression", "message"),
    [("30 2 * *", "five fields"), ("61 2 * * *", "minute field '61'"), ("0 24 * * *", "hour field"), ("x * * * *", "")],
)
def test_bad_cron_expressions_name_the_variable(expression, message):
    with pytest.raises(ValueError, match="daskhub_backup_schedule=") as error:
        backups.cron_fields(expression)
    assert message in str(error.value)


def test_sqlite_copy_runs_stand_alone_as_in_the_hub_pod(tmp_path):
    source = tmp_path / "live.sqlite"
    with sqlite3.connect(source) as db:
        db.execute("create table t (x)")
        db.execute("insert into t values (42)")
    db.close()
    dest = tmp_path / "copy.sqlite"
    proc = subprocess.run(
        [sys.executable, sqlite_copy.__file__, str(source), str(dest)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    with sqlite3.connect(dest) as db:
        assert db.execute("select x from t").fetchall() == [(42,)]
    db.close()
    proc = subprocess.run(
        [sys.executable, sqlite_copy.__file__, str(tmp_path / "missing"), str(dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "no database at" in proc.stderr
