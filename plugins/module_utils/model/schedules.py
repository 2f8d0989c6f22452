"""A scheduled job's schedule (role daskhub_schedule): every problem of its settings, and its cron fields.

A job runs on a cron expression (backups, certificate renewals) or every few
minutes (the user sync, which a systemd timer can run too). Controller side
only; no Ansible imports.
"""

from __future__ import annotations

import os

from ansible_collections.daskhub.deploy.plugins.module_utils.state.backups import cron_fields

EVERY_MINUTE = ["*", "*", "*", "*", "*"]


def interval_problem(minutes: int, variable: str) -> str | None:
    """Why cron cannot run a job every ``minutes``, naming ``variable``; None when it can."""
    if (0 < minutes < 60 and 60 % minutes == 0) or (60 <= minutes <= 1440 and minutes % 60 == 0):
        return None
    return f"{variable}={minutes}: use a divisor of 60 (1, 2, 5, 10, 15, 20, 30) or whole hours (60, 120, ... 1440)."


def interval_fields(minutes: int) -> list[str]:
    """The cron fields of a valid interval: */N minutes below an hour, else */N hours (once a day at 1440)."""
    if minutes < 60:
        return [f"*/{minutes}", "*", "*", "*", "*"]
    return ["0", f"*/{minutes // 60}" if minutes < 1440 else "0", "*", "*", "*"]


def _inside(path: str, directory: str) -> bool:
    return (os.path.realpath(path) + "/").startswith(os.path.realpath(directory) + "/")


def schedule(
    cron: str,
    settings: str,
    cron_variable: str,
    interval_minutes: int = 0,
    state: str = "present",
    backend: str = "auto",
    schedule_dir: str = "",
    inventory: str = "",
) -> dict:
    """{errors: every problem at once, each naming its variable; fields: the cron entry's five fields}.

    ``settings``: the prefix of the job's settings (daskhub_backup_schedule),
    which names the interval, the backend and the directory in messages;
    ``cron_variable``: the variable a bad ``cron`` is blamed on.
    """
    minutes = int(interval_minutes or 0)
    errors: list[str] = []
    fields = EVERY_MINUTE
    if minutes:
        problem = interval_problem(minutes, f"{settings}_interval_minutes")
        if problem:
            errors.append(problem)
        else:
            fields = interval_fields(minutes)
    elif state == "present":
        try:
            fields = cron_fields(cron, cron_variable)
        except ValueError as err:
            errors.append(str(err))
        if backend == "systemd":
            errors.append(
                f"{settings}_backend=systemd: a systemd timer runs an interval, and {cron_variable} is a cron "
                "expression (cron runs it)."
            )
    if schedule_dir and inventory and _inside(schedule_dir, inventory):
        errors.append(
            f"{settings}_dir ({schedule_dir}) is inside the inventory {inventory}: Ansible would run the executable "
            "run script as an inventory script on every run. Choose a directory outside it."
        )
    return {"errors": errors, "fields": fields}
