"""Unit tests of plugins/module_utils/model/schedules.py (role daskhub_schedule's filter daskhub_schedule)."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.filter.operations import FilterModule
from ansible_collections.daskhub.deploy.plugins.module_utils.model import schedules

BACKUP = {"settings": "daskhub_backup_schedule", "cron_variable": "daskhub_backup_schedule"}
USER_SYNC = {"settings": "daskhub_user_sync_schedule", "cron_variable": "daskhub_schedule_cron"}


@pytest.mark.parametrize(
    ("minutes", "fields"),
    [
        (1, ["*/1", "*", "*", "*", "*"]),
        (15, ["*/15", "*", "*", "*", "*"]),
        (30, ["*/30", "*", "*", "*", "*"]),
        (60, ["0", "*/1", "*", "*", "*"]),
        (180, ["0", "*/3", "*", "*", "*"]),
        (1440, ["0", "0", "*", "*", "*"]),
    ],
)
def test_an_interval_is_cron_fields(minutes, fields):
    assert schedules.schedule("", interval_minutes=minutes, **USER_SYNC) == {"errors": [], "fields": fields}


@pytest.mark.parametrize("minutes", [7, 45, 90, 1500, -5])
def test_an_interval_cron_cannot_keep_is_named(minutes):
    errors = schedules.schedule("", interval_minutes=minutes, **USER_SYNC)["errors"]
    assert errors == [
        f"daskhub_user_sync_schedule_interval_minutes={minutes}: use a divisor of 60 (1, 2, 5, 10, 15, 20, 30) "
        "or whole hours (60, 120, ... 1440)."
    ]


def test_a_cron_expression_is_its_fields_and_absent_checks_none():
    assert schedules.schedule("30 2 * * 1-5", **BACKUP) == {"errors": [], "fields": ["30", "2", "*", "*", "1-5"]}
    assert schedules.schedule("", state="absent", **BACKUP) == {"errors": [], "fields": schedules.EVERY_MINUTE}
    assert schedules.schedule("", **BACKUP)["errors"][0].startswith("daskhub_backup_schedule='': a cron expression")


def test_every_problem_is_named_at_once(tmp_path):
    inventory = tmp_path / "inventories" / "site"
    inventory.mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    # A link from outside into the inventory is inside it.
    (tmp_path / "outside" / "link").symlink_to(inventory)
    errors = schedules.schedule(
        "17 3 * * 8",
        settings="daskhub_certificates_schedule",
        cron_variable="daskhub_https_renew_schedule",
        backend="systemd",
        schedule_dir=str(tmp_path / "outside" / "link" / "schedule"),
        inventory=str(inventory),
    )["errors"]
    assert len(errors) == 3
    assert errors[0] == "daskhub_https_renew_schedule='17 3 * * 8': the weekday field '8' is not cron's (0-7)"
    assert errors[1].startswith("daskhub_certificates_schedule_backend=systemd: a systemd timer runs an interval")
    assert errors[2].startswith(f"daskhub_certificates_schedule_dir ({tmp_path}/outside/link/schedule) is inside")
    # A sibling whose name starts like the inventory's is outside it.
    sibling = schedules.schedule("17 3 * * *", **BACKUP, schedule_dir=f"{inventory}-schedule", inventory=str(inventory))
    assert sibling["errors"] == []


def test_the_filter_is_the_function():
    assert FilterModule().filters()["daskhub_schedule"] is schedules.schedule
