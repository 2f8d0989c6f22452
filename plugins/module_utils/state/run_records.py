# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The record a scheduled job leaves of its last run, for playbooks/status.yml.

A small JSON file in the site's state directory: ``{"time", "ok", ...}``
plus the job's own fields (a summary, a path, an error), never a user name
or a secret. Backups write theirs from the seal (state/backups.py), user
sync through the action plugin run_record; hub/status.py's ``last_run``
reads both and says how old and whether stale.
"""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.daskhub.deploy.plugins.module_utils import atomic_file


def iso_time(now=None) -> str:
    """UTC, ISO 8601, to the second: 2026-03-01T12:00:00Z."""
    return (now or datetime.datetime.now(tz=datetime.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def write(record_path: str, ok: bool, mode: int, now=None, **fields) -> dict:
    """Replace the record at ``record_path`` (its directory made 0700 when missing); returns what it wrote."""
    record = {**fields, "time": iso_time(now), "ok": bool(ok)}
    os.makedirs(os.path.dirname(record_path) or ".", mode=0o700, exist_ok=True)
    content = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    atomic_file.replace_atomically(record_path, content, mode)
    return record
