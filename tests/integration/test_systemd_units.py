"""The systemd units the roles write pass ``systemd-analyze verify``.

This host has no systemd as PID 1, so the roles choose cron and supervisord
here; the units are rendered from the roles' own templates and variables (a
test play includes the role's tasks that set them) and verified offline.
Without systemd-analyze the tests are a named skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support.playbooks import ROOT, run_playbook
from support.stacks import LOCAL_STACK

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="systemd-analyze is not installed (package systemd)")


def verify(units: list[Path]) -> None:
    """systemd-analyze verify; any complaint about our units (even a warning) fails the test."""
    assert units, "no unit was written"
    proc = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *map(str, units)], capture_output=True, text=True, timeout=60, check=False
    )
    ours = [line for line in (proc.stdout + proc.stderr).splitlines() if any(unit.name in line for unit in units)]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ours == [], "\n".join(ours)


def unit_dir(path: Path) -> dict:
    return {"name": "Unit dir", "ansible.builtin.file": {"path": str(path), "state": "directory", "mode": "0755"}}


def render(play: list, inventory: Path, tmp_path: Path, *args: str):
    book = tmp_path / "render-units.yml"
    book.write_text(yaml.safe_dump(play, sort_keys=False))
    proc = run_playbook(str(book), *args, inventory=inventory)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_user_sync_service_and_timer(tmp_path):
    # The shipped local site; the copy keeps its name, which names the units.
    inventory = tmp_path / "local"
    shutil.copytree(ROOT / "inventories/local", inventory, ignore=shutil.ignore_patterns("state"))
    units = tmp_path / "units"
    role = ROOT / "roles/daskhub_schedule"
    write = yaml.safe_load((role / "tasks/systemd.yml").read_text())[0]["ansible.builtin.template"]
    # The job's parameters as playbooks/user-sync-schedule.yml gives them to the role.
    job = yaml.safe_load((ROOT / "playbooks/user-sync-schedule.yml").read_text())[0]["roles"][1]["vars"]
    play = [
        {
            "name": "Render the user-sync units",
            "hosts": "daskhub",
            "gather_facts": False,
            "vars": job,
            "tasks": [
                {
                    # Writes the run script the service starts, and sets the role's variables.
                    "name": "Install the run script",
                    "ansible.builtin.include_role": {
                        "name": "daskhub_schedule",
                        "tasks_from": "script.yml",
                        "public": True,
                    },
                },
                unit_dir(units),
                {
                    "name": "Render the units as the role does",
                    "ansible.builtin.template": {
                        "src": str(role / "templates" / write["src"]),
                        "dest": write["dest"].replace("{{ daskhub_schedule_systemd_dir }}", str(units)),
                        "mode": "0644",
                    },
                    "loop": ["service", "timer"],
                },
            ],
        }
    ]
    settings = {
        "daskhub_user_sync_schedule_dir": str(tmp_path / "schedule"),
        # The role's default (its role_path two levels up), which needs the role's context.
        "daskhub_user_sync_schedule_repo_dir": str(ROOT),
    }
    render(play, inventory, tmp_path, "-e", json.dumps(settings))
    written = sorted(units.iterdir())
    assert [unit.name for unit in written] == ["daskhub-user-sync-local.service", "daskhub-user-sync-local.timer"]
    assert f"ExecStart={tmp_path}/schedule/user-sync-run.sh" in written[0].read_text()
    assert "Description=DaskHub user sync of site local" in written[0].read_text()
    timer = written[1].read_text()
    assert "OnUnitActiveSec=15min" in timer
    assert "Unit=daskhub-user-sync-local.service" in timer
    verify(written)


@pytest.mark.stack
@LOCAL_STACK
def test_local_target_service_units(local_stack, tmp_path):
    """The hub and gateway units of daskhub_local, with the deployed stack's paths (so ExecStart exists)."""
    tasks = yaml.safe_load((ROOT / "roles/daskhub_local/tasks/systemd.yml").read_text())
    write = next(task for task in tasks if "ansible.builtin.template" in task)
    units = tmp_path / "units"
    play = [
        {
            "name": "Render the local target's units",
            "hosts": "daskhub",
            "gather_facts": True,
            "gather_subset": ["!all", "min"],
            "roles": [{"role": "daskhub_model"}],
            "tasks": [
                {
                    "name": "Load the local target's settings",
                    "ansible.builtin.include_role": {
                        "name": "daskhub_local",
                        "tasks_from": "facts.yml",
                        "public": True,
                    },
                },
                unit_dir(units),
                {
                    "name": "Render the units as the role does",
                    "ansible.builtin.template": {
                        "src": str(ROOT / "roles/daskhub_local/templates" / write["ansible.builtin.template"]["src"]),
                        "dest": write["ansible.builtin.template"]["dest"].replace("/etc/systemd/system", str(units)),
                        "mode": "0644",
                    },
                    "loop": write["loop"],
                    "loop_control": write["loop_control"],
                },
            ],
        }
    ]
    render(play, local_stack.inventory, tmp_path)
    written = sorted(units.iterdir())
    instance = yaml.safe_load((local_stack.inventory / "group_vars/daskhub/zz-test.yml").read_text())[
        "daskhub_local_instance"
    ]
    assert [unit.name for unit in written] == [f"{instance}-dask-gateway.service", f"{instance}-jupyterhub.service"]
    assert f"ExecStart={local_stack.prefix}/venv/bin/jupyterhub -f" in written[1].read_text()
    verify(written)
