"""playbooks/backup-schedule.yml: the cron entry daskhub_backup_schedule asks for, idempotent, removed when unset.

Needs no deployed stack: the schedule lives on the controller. The entry
goes to a cron file of the test's own (an absolute path), which no cron
daemon reads; the user-sync schedule's test shows such an entry firing.
"""

from __future__ import annotations

import getpass
import shutil
import stat

import pytest
from support.playbooks import recap, run_playbook
from support.stacks import SLOTS, make_inventory, port_block


@pytest.fixture
def site(tmp_path):
    if not shutil.which("crontab"):
        pytest.skip("the crontab program is missing (scripts/test-deps.sh installs cron)")
    inventory = make_inventory(tmp_path, tmp_path / "prefix", port_block(SLOTS["scratch"]))
    return tmp_path, inventory


def schedule(tmp_path, inventory, expression):
    return run_playbook(
        "playbooks/backup-schedule.yml",
        "-e",
        f"daskhub_backup_schedule='{expression}'",
        "-e",
        f"daskhub_backup_schedule_cron_file={tmp_path}/cron",
        "-e",
        f"daskhub_backup_schedule_dir={tmp_path}/schedule",
        inventory=inventory,
        merge_stderr=True,
    )


def test_the_schedule_is_a_cron_entry_that_runs_backup_yml(site):
    tmp_path, inventory = site
    proc = schedule(tmp_path, inventory, "30 2 * * 1-5")
    assert proc.returncode == 0, proc.stdout[-3000:]
    script = tmp_path / "schedule/backup-run.sh"
    assert f"30 2 * * 1-5 {getpass.getuser()} {script}" in (tmp_path / "cron").read_text()
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    assert f"playbooks/backup.yml -i {inventory}" in script.read_text()
    again = schedule(tmp_path, inventory, "30 2 * * 1-5")
    assert recap(again.stdout)["changed"] == 0
    removed = schedule(tmp_path, inventory, "")
    assert removed.returncode == 0, removed.stdout[-3000:]
    assert not (tmp_path / "cron").exists() or "backup-run.sh" not in (tmp_path / "cron").read_text()
    assert not script.exists()


def test_a_bad_expression_is_named_before_anything_changes(site):
    tmp_path, inventory = site
    proc = schedule(tmp_path, inventory, "30 25 * * *")
    assert proc.returncode != 0
    assert "daskhub_backup_schedule='30 25 * * *': the hour field '25' is not cron's (0-23)" in proc.stdout
    assert not (tmp_path / "cron").exists()
    assert not (tmp_path / "schedule").exists()
