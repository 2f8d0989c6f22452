"""playbooks/certificates-schedule.yml: the cron entry that renews the local target's certificate,
idempotent, removed when daskhub_https_renew_schedule is empty; a bad expression is named first.

Needs no deployed stack: the schedule lives on the controller (support/schedules.py).
"""

from __future__ import annotations

from support.schedules import job_fixture

certificates = job_fixture("certificates", "certificates.yml")


def test_the_daily_default_runs_certificates_yml_and_an_empty_schedule_removes_it(certificates):
    # The second run of role daskhub_schedule changes nothing: test_backup_schedule.py proves it for every job.
    certificates.check_round_trip(
        "17 3 * * *", present=(), absent=("-e", "daskhub_https_renew_schedule=''"), idempotent=False
    )


def test_a_bad_expression_is_named_before_anything_changes(certificates):
    bad = "daskhub_https_renew_schedule='17 3 * * 8'"
    certificates.check_refused(
        "-e", bad, named=[f"{bad}: the weekday field '8'", "daskhub_certificates_schedule_dir ("]
    )
