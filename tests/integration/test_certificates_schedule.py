"""playbooks/certificates-schedule.yml: the cron entry that renews the local target's certificate,
idempotent, removed when daskhub_https_renew_schedule is empty; a bad expression is named first.

Needs no deployed stack: the schedule lives on the controller (support/schedules.py).
"""

from __future__ import annotations

from support import schedules

schedule_site = schedules.schedule_site


def certificates(site) -> schedules.Job:
    return schedules.Job("certificates", "playbooks/certificates-schedule.yml", "certificates.yml", *site)


def test_the_daily_default_runs_certificates_yml_and_an_empty_schedule_removes_it(schedule_site):
    certificates(schedule_site).check_round_trip(
        "17 3 * * *", present=(), absent=("-e", "daskhub_https_renew_schedule=''")
    )


def test_a_bad_expression_is_named_before_anything_changes(schedule_site):
    certificates(schedule_site).check_refused(
        "-e",
        "daskhub_https_renew_schedule='17 3 * * 8'",
        named=[
            "daskhub_https_renew_schedule='17 3 * * 8': the weekday field '8'",
            "daskhub_certificates_schedule_dir (",
        ],
    )
