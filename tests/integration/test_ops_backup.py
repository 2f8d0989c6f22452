"""playbooks/backup.yml on the shared local stack (system accounts): the accounts it records, its retention, check mode.

The restore drill (backup, purge, restore onto a fresh prefix) is in
test_ops_uninstall.py, on the stack those tests take down anyway.
"""

from __future__ import annotations

import json
import pwd

import pytest
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]


@pytest.fixture(scope="module")
def stack(local_stack):
    return local_stack


def test_backups_record_the_hub_users_accounts_and_keep_the_newest(stack, tmp_path):
    backups = tmp_path / "backups"
    # The shared stack's own last-backup.json stays untouched (test_ops_status reads "never").
    status_file = tmp_path / "last-backup.json"
    args = (
        "-e",
        f"daskhub_backup_dir={backups}",
        "-e",
        "daskhub_backup_keep=1",
        "-e",
        f"daskhub_operations_backup_status_file={status_file}",
    )
    check = stack.playbook("playbooks/backup.yml", "--check", *args)
    assert "Would back up to" in check.stdout
    assert not any(backups.glob("*/manifest.json")), "check mode wrote a backup"
    # An older backup of the site, which daskhub_backup_keep=1 removes.
    older = backups / f"{stack.inventory.name}-20200101T000000Z"
    older.mkdir(parents=True)
    (older / "manifest.json").write_text("{}")
    stack.playbook("playbooks/backup.yml", *args)
    (first,) = backups.iterdir()
    assert first != older, "daskhub_backup_keep=1 kept the older backup"
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["accounts"], "the stack's hub users are system accounts; the manifest lists none"
    for account in manifest["accounts"]:
        assert account["uid"] == pwd.getpwnam(account["name"]).pw_uid
    assert "alice" in {account["name"] for account in manifest["accounts"]}
    assert any("home directories" in note for note in manifest["notes"])
    last = json.loads(status_file.read_text())
    assert (last["ok"], last["path"]) == (True, str(first))
