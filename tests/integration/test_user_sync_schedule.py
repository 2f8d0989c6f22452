"""User sync's schedule: the cron entry installed by ansible-playbook, fired by a real cron daemon.

Against the newest real JupyterHub (support/user_sync.py has the helpers).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from support import hubs, schedules, user_sync
from support.hubs import REPO_ROOT
from support.playbooks import recap, run_playbook
from support.user_sync import newest_hub_only, playbook_env, vars_file

# Up to a minute of it waits for cron's next minute (tests/conftest.py hands it out first).
pytestmark = [pytest.mark.hub, pytest.mark.waits_for_the_clock]
# The fixtures: one running hub per JupyterHub version (hub, fresh_hub), a test's stub roles (work).
hub_fixture, fresh_hub, work_fixture = hubs.hub_fixture, hubs.fresh_hub, user_sync.work_fixture


# -- the schedule -------------------------------------------------------------

CRON = Path("/usr/sbin/cron")
CRON_D = Path("/etc/cron.d")


@pytest.fixture(scope="session")
def crontab():
    return schedules.need_crontab()


@contextlib.contextmanager
def cron_daemon():
    """A cron daemon of the test's own, in the foreground, stopped at the end.

    Debian's cron reads /etc/cron.d; it needs root, and only one runs per host.
    """
    if not CRON.exists():
        pytest.skip("no cron daemon (scripts/test-deps.sh installs cron)")
    if os.geteuid() != 0 or not os.access(CRON_D, os.W_OK):
        pytest.skip("a cron daemon reads /etc/cron.d only as root; this test is not root")
    running = subprocess.run(["pgrep", "-x", "cron"], capture_output=True, check=False).returncode == 0
    if running:
        pytest.fail("a cron daemon already runs on this host; the test must start its own to see it fire")
    proc = subprocess.Popen([str(CRON), "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        assert proc.poll() is None, f"cron did not start: {proc.stderr.read().decode(errors='replace')}"
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


@newest_hub_only
def test_schedule_installs_cron_and_cron_runs_the_sync(work, fresh_hub, crontab):
    hub = fresh_hub
    inventory = work / "inventories" / "testsite"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "daskhub": {
                            "hosts": {
                                "localhost": {
                                    "ansible_connection": "local",
                                    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                                }
                            }
                        }
                    }
                }
            }
        )
    )
    group_vars = json.loads(vars_file(work, hub, daskhub_users=["scheduled-user"]).read_text())
    (inventory / "group_vars" / "daskhub.yml").write_text(yaml.safe_dump(group_vars))
    # Where the cron daemon reads it; a name without dots (cron skips those).
    cron_file = CRON_D / f"daskhub-test-user-sync-{os.getpid()}"
    schedule_vars = {
        "daskhub_user_sync_schedule_backend": "cron",
        "daskhub_user_sync_schedule_cron_file": str(cron_file),
        "daskhub_user_sync_schedule_cron_user": "root",
        "daskhub_user_sync_schedule_interval_minutes": 1,
        "daskhub_user_sync_schedule_dir": str(work / "schedule"),
        "daskhub_user_sync_schedule_environment": {"ANSIBLE_ROLES_PATH": f"{work / 'roles'}:{REPO_ROOT / 'roles'}"},
    }
    env = playbook_env(work, callback="ansible.builtin.default")

    def schedule(state):
        return run_playbook(
            *("playbooks/user-sync-schedule.yml", "-i", str(inventory)),
            *("-e", json.dumps({**schedule_vars, "daskhub_user_sync_schedule_state": state})),
            env=env,
            timeout=120,
        )

    status_file = work / "schedule" / "user-sync.status"
    try:
        # The daemon runs before the entry exists, as on a host: it reads /etc/cron.d again at each minute
        # and fires the entry at the first minute after the playbook wrote it, in cron's bare environment.
        # Its wait for that minute overlaps the playbook's two runs.
        with cron_daemon():
            proc = schedule("present")
            assert proc.returncode == 0, proc.stdout
            entries = schedules.cron_entries(cron_file)
            assert len(entries) == 1
            assert "#Ansible: daskhub user-sync testsite" in cron_file.read_text().splitlines()
            fields = entries[0].split(None, 6)
            assert fields[:6] == ["*/1", "*", "*", "*", "*", "root"]
            command = fields[6]
            assert recap(schedule("present").stdout)["changed"] == 0

            deadline = time.monotonic() + 200
            while " ok log=" not in (status_file.read_text() if status_file.exists() else ""):
                assert time.monotonic() < deadline, "cron did not run the user sync within 200 s"
                time.sleep(2)
        log = (work / "schedule" / "user-sync.log").read_text()
        assert log.rstrip().splitlines()[-1].endswith("user-sync ok")
        assert "scheduled-user" in hub.users()
        assert hub.token not in log

        # A failing run stays visible in the status file and the log.
        group_vars["daskhub_secrets"]["user_sync_api_token"] = "revoked"
        (inventory / "group_vars" / "daskhub.yml").write_text(yaml.safe_dump(group_vars))
        run = subprocess.run(["/bin/sh", "-c", command], env={"PATH": "/usr/bin:/bin"}, timeout=300, check=False)
        assert run.returncode != 0
        assert "FAILED (exit 2)" in status_file.read_text()
        assert "the hub rejected the API token" in (work / "schedule" / "user-sync.log").read_text()

        proc = schedule("absent")
        assert proc.returncode == 0, proc.stdout
        # The cron module deletes a cron_file that has no entry left.
        assert schedules.cron_entries(cron_file) == []
        assert not Path(shlex.split(command)[0]).exists()
    finally:
        cron_file.unlink(missing_ok=True)
