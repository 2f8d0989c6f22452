"""The usage report's period, queries and tables (render/usage_report.py)."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.render import usage_report


def test_a_month_is_its_hours_up_to_the_next_month():
    november = usage_report.period("2026-11")
    assert november["hours"] == 30 * 24
    assert november["start"].startswith("2026-11-01") and november["end"].startswith("2026-12-01")
    assert usage_report.period("2026-12")["end"].startswith("2027-01-01")


def test_a_period_must_end_after_it_starts():
    with pytest.raises(ValueError, match="must come after its start"):
        usage_report.period(start="2026-11-10", end="2026-11-01")


def test_queries_average_the_recording_rules_over_the_period():
    queries = usage_report.queries(24)
    assert queries["user:dask_core_hours"] == "avg_over_time(daskhub:user_dask_cores[24h]) * 24 / 1"
    assert queries["group:notebook_memory_gib_hours"].startswith(
        "avg_over_time(daskhub:group_notebook_memory_bytes[24h])"
    )


def test_tables_and_csv_per_user_and_per_group():
    answers = {
        "user:dask_core_hours": [
            {"metric": {"user": "bob"}, "value": [0, "1.5"]},
            {"metric": {"user": "alice"}, "value": [0, "12"]},
        ],
        "user:dask_memory_gib_hours": [{"metric": {"user": "alice"}, "value": [0, "24.0004"]}],
        "group:dask_core_hours": [{"metric": {"group": "physics"}, "value": [0, "13.5"]}],
    }
    users = usage_report.table(answers, "user")
    assert [row["user"] for row in users] == ["alice", "bob"]
    assert users[0]["dask_memory_gib_hours"] == 24.0 and users[1]["dask_memory_gib_hours"] == 0.0
    assert usage_report.to_csv(users, "user").splitlines()[0] == (
        "user,notebook_core_hours,notebook_memory_gib_hours,dask_core_hours,dask_memory_gib_hours"
    )
    assert usage_report.table(answers, "group") == [
        {
            "group": "physics",
            "notebook_core_hours": 0.0,
            "notebook_memory_gib_hours": 0.0,
            "dask_core_hours": 13.5,
            "dask_memory_gib_hours": 0.0,
        }
    ]
