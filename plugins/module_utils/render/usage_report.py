"""Usage accounting over a period from the recording rules of plugins/files/monitoring/daskhub-rules.yml.

playbooks/usage-report.yml asks Prometheus, at the period's end, for
``avg_over_time(<rule>[<hours>h]) * <hours>`` of each rule below (core-hours;
memory in GiB-hours), and this module turns the answers into one table per
user and one per group, and their CSV.
"""

from __future__ import annotations

import csv
import datetime
import io

GIB = 2**30
# column -> (recording rule, divisor)
COLUMNS = {
    "notebook_core_hours": ("notebook_cores", 1),
    "notebook_memory_gib_hours": ("notebook_memory_bytes", GIB),
    "dask_core_hours": ("dask_cores", 1),
    "dask_memory_gib_hours": ("dask_memory_bytes", GIB),
}


def period(month: str = "", start: str = "", end: str = "") -> dict:
    """{start, end (RFC 3339), hours, end_epoch} of ``month`` (YYYY-MM) or of ``start``..``end`` (YYYY-MM-DD)."""
    if month:
        first = datetime.datetime.strptime(month, "%Y-%m").replace(tzinfo=datetime.UTC)
        last = (first + datetime.timedelta(days=32)).replace(day=1)
    else:
        first = datetime.datetime.strptime(start, "%Y-%m-%d").replace(tzinfo=datetime.UTC)
        last = datetime.datetime.strptime(end, "%Y-%m-%d").replace(tzinfo=datetime.UTC)
    if last <= first:
        raise ValueError(f"the period's end ({last:%Y-%m-%d}) must come after its start ({first:%Y-%m-%d})")
    hours = int((last - first).total_seconds() // 3600)
    return {"start": first.isoformat(), "end": last.isoformat(), "hours": hours, "end_epoch": last.timestamp()}


def queries(hours: int) -> dict:
    """(kind, column) -> PromQL, kind being user or group."""
    return {
        f"{kind}:{column}": f"avg_over_time(daskhub:{kind}_{rule}[{int(hours)}h]) * {int(hours)} / {divisor}"
        for kind in ("user", "group")
        for column, (rule, divisor) in COLUMNS.items()
    }


def table(answers: dict, kind: str) -> list[dict]:
    """Rows of ``kind`` (user or group) from {"<kind>:<column>": Prometheus' result list}."""
    rows: dict[str, dict] = {}
    for key, result in answers.items():
        answer_kind, column = key.split(":", 1)
        if answer_kind != kind:
            continue
        for series in result or []:
            name = series["metric"].get(kind, "")
            row = rows.setdefault(name, {kind: name, **dict.fromkeys(COLUMNS, 0.0)})
            row[column] = round(float(series["value"][1]), 3)
    return [rows[name] for name in sorted(rows)]


def to_csv(rows: list[dict], kind: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[kind, *COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
