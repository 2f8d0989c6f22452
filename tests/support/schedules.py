"""The scheduled jobs (playbooks/*-schedule.yml, role daskhub_schedule): a site to schedule on, the runs, the checks.

The entry goes to a cron file of the test's own (an absolute path), which no
cron daemon reads; tests/integration/test_user_sync_schedule.py shows such an
entry firing.
"""

from __future__ import annotations

import getpass
import shutil
import stat
from pathlib import Path

import pytest

from support.playbooks import recap, run_playbook
from support.stacks import SLOTS, make_inventory, port_block


def need_crontab() -> str:
    """ansible.builtin.cron needs the crontab program even for a cron_file (scripts/test-deps.sh installs cron)."""
    if not shutil.which("crontab"):
        pytest.skip("the crontab program is missing (scripts/test-deps.sh installs cron)")
    return shutil.which("crontab")


def job_fixture(job: str, runs: str):
    """A fixture: the Job ``job`` (running playbooks/<runs>) on the default site's inventory in the test's directory."""

    @pytest.fixture
    def fixture(tmp_path):
        need_crontab()
        inventory = make_inventory(tmp_path, tmp_path / "prefix", port_block(SLOTS["scratch"]))
        return Job(job, f"playbooks/{job}-schedule.yml", runs, tmp_path, inventory)

    return fixture


def cron_entries(cron_file: Path) -> list[str]:
    """The cron file's lines that are entries (no comments, no blanks); [] when it is gone."""
    if not cron_file.exists():
        return []
    return [line for line in cron_file.read_text().splitlines() if line and not line.startswith("#")]


class Job:
    """One scheduled job as a site sees it: its playbook, its settings' prefix, its names.

    The site is the inventory's directory name, "inventory".
    """

    def __init__(self, job: str, playbook: str, runs: str, tmp_path: Path, inventory: Path):
        self.job, self.playbook, self.runs = job, playbook, runs
        self.settings = f"daskhub_{job.replace('-', '_')}_schedule"
        self.tmp_path, self.inventory = tmp_path, inventory
        self.cron_file = tmp_path / "cron"
        self.dir = tmp_path / "schedule"
        # The names an existing site's entry and script have had since before the roles became one.
        self.script = self.dir / f"{job}-run.sh"
        self.entry_name = f"#Ansible: daskhub {job} {inventory.name}"

    def run(self, *extra: str, schedule_dir: Path | None = None):
        return run_playbook(
            self.playbook,
            *("-e", f"{self.settings}_cron_file={self.cron_file}"),
            *("-e", f"{self.settings}_dir={schedule_dir or self.dir}"),
            *extra,
            inventory=self.inventory,
            merge_stderr=True,
        )

    def old_entry(self, when: str) -> None:
        """The entry as the job's own role wrote it before: the same name, so a run replaces it."""
        self.cron_file.write_text(f"{self.entry_name}\n{when} {getpass.getuser()} {self.script}\n")

    def check_round_trip(
        self, when: str, present: tuple[str, ...], absent: tuple[str, ...], *, idempotent: bool = True
    ) -> None:
        """Installed (replacing the old entry), idempotent (a second run: ``idempotent``), removed."""
        self.old_entry("0 0 1 1 *")
        proc = self.run(*present)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert cron_entries(self.cron_file) == [f"{when} {getpass.getuser()} {self.script}"]
        assert self.entry_name in self.cron_file.read_text().splitlines()
        assert stat.S_IMODE(self.script.stat().st_mode) == 0o700
        script = self.script.read_text()
        assert f"playbooks/{self.runs} -i {self.inventory}" in script
        assert f"log={self.dir}/{self.job}.log" in script
        assert f"status={self.dir}/{self.job}.status" in script
        if idempotent:
            assert recap(self.run(*present).stdout)["changed"] == 0
        removed = self.run(*absent)
        assert removed.returncode == 0, removed.stdout[-3000:]
        assert cron_entries(self.cron_file) == []
        assert not self.script.exists()

    def check_refused(self, *extra: str, named: list[str]) -> None:
        """A run with bad settings names every problem, and changes nothing."""
        proc = self.run(*extra, schedule_dir=self.inventory / "schedule")
        assert proc.returncode != 0
        for message in named:
            assert message in proc.stdout, proc.stdout[-3000:]
        assert not self.cron_file.exists()
        assert not (self.inventory / "schedule").exists()
