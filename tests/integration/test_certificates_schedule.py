"""playbooks/certificates-schedule.yml: the cron entry that renews the local target's certificate,
idempotent, removed when daskhub_https_renew_schedule is empty; a bad expression is named first.

Needs no deployed stack: the schedule lives on the controller, in a cron file of the test's own
(an absolute path) that no cron daemon reads.
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


def schedule(tmp_path, inventory, *extra):
    return run_playbook(
        "playbooks/certificates-schedule.yml",
        "-e",
        f"daskhub_certificates_schedule_cron_file={tmp_path}/cron",
        "-e",
        f"daskhub_certificates_schedule_dir={tmp_path}/schedule",
        *extra,
        inventory=inventory,
        merge_stderr=True,
    )


def test_the_daily_default_runs_certificates_yml_and_an_empty_schedule_removes_it(site):
    tmp_path, inventory = site
    proc = schedule(tmp_path, inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    script = tmp_path / "schedule/certificates-run.sh"
    assert f"17 3 * * * {getpass.getuser()} {script}" in (tmp_path / "cron").read_text()
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    assert f"playbooks/certificates.yml -i {inventory}" in script.read_text()
    assert recap(schedule(tmp_path, inventory).stdout)["changed"] == 0
    removed = schedule(tmp_path, inventory, "-e", "daskhub_https_renew_schedule=''")
    assert removed.returncode == 0, removed.stdout[-3000:]
    assert not (tmp_path / "cron").exists() or "certificates-run.sh" not in (tmp_path / "cron").read_text()
    assert not script.exists()


def test_a_bad_expression_is_named_before_anything_changes(site):
    tmp_path, inventory = site
    proc = schedule(tmp_path, inventory, "-e", "daskhub_https_renew_schedule='17 3 * * 8'")
    assert proc.returncode != 0
    assert "daskhub_https_renew_schedule='17 3 * * 8': the weekday field '8'" in proc.stdout, proc.stdout[-2000:]
    assert not (tmp_path / "cron").exists()
    assert not (tmp_path / "schedule").exists()
