"""playbooks/backup-schedule.yml: the cron entry daskhub_backup_schedule asks for, idempotent, removed when unset.

Needs no deployed stack: the schedule lives on the controller (support/schedules.py).
"""

from __future__ import annotations

from support.schedules import job_fixture

backup = job_fixture("backup", "backup.yml")


def test_the_schedule_is_a_cron_entry_that_runs_backup_yml(backup):
    when = "30 2 * * 1-5"
    backup.check_round_trip(
        when, present=("-e", f"daskhub_backup_schedule='{when}'"), absent=("-e", "daskhub_backup_schedule=''")
    )


def test_every_bad_setting_is_named_before_anything_changes(backup):
    backup.check_refused(
        *("-e", "daskhub_backup_schedule='30 25 * * *'", "-e", "daskhub_backup_schedule_backend=systemd"),
        named=[
            "daskhub_backup_schedule='30 25 * * *': the hour field '25' is not cron's (0-23)",
            "daskhub_backup_schedule_backend=systemd: a systemd timer runs an interval",
            "daskhub_backup_schedule_dir (",
            "is inside the inventory",
        ],
    )
