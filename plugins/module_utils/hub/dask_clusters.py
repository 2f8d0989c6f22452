# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Dask clusters of a site: list them with user, age and workers; pick the ones to stop.

Both targets produce the same record per cluster::

    {"name", "user", "status", "started" (ISO 8601 UTC), "age_seconds",
     "workers" (int or None when unknown), "options"}

- Kubernetes: from the DaskCluster resources and the worker pods that
  ``kubernetes.core.k8s_info`` returns (``from_kubernetes``).
- local: through the gateway's REST API (``from_gateway``), which
  hub/gateway_clusters.py (``GatewayClusters``) asks as each user in turn.

Standard library only, so it runs inside modules and filters alike.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
import time

# Names of dask_gateway_server.models.ClusterStatus. The gateway's "active"
# set (what it lists by default) is PENDING and RUNNING.
ACTIVE_STATUSES = ("PENDING", "RUNNING")
# DaskCluster status.phase values the controller writes (same names, title case).
_K8S_ACTIVE_PHASES = ("Pending", "Running")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw]?)")
_DURATION_FULL = re.compile(r"^(?:\d+(?:\.\d+)?\s*[smhdw]?\s*)+$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ClustersError(Exception):
    """Listing or stopping clusters failed; str() says what to do."""


def parse_duration(value) -> float:
    """Seconds in "90", 90, "45s", "30m", "2h", "1d", "1h30m"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return float(value)
    text = str(value).strip().lower()
    if not _DURATION_FULL.match(text):
        raise ValueError(f"not a duration: {value!r} (use seconds, or a number with s, m, h, d or w: 30m, 2h, 1d)")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION.findall(text))


def _now(now=None) -> float:
    return time.time() if now is None else float(now)


def _iso(epoch_seconds) -> str | None:
    if epoch_seconds is None:
        return None
    return datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_k8s_time(text) -> float | None:
    if not text:
        return None
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()


def _record(name, user, status, started, workers, options, now, **extra) -> dict:
    record = {
        "name": name,
        "user": user,
        "status": status,
        "started": _iso(started),
        "age_seconds": None if started is None else max(0, int(_now(now) - started)),
        "workers": workers,
        "options": options or {},
    }
    record.update(extra)
    return record


# --- Kubernetes ----------------------------------------------------------------


def from_kubernetes(daskclusters, pods=(), now=None, include_stopped=False) -> list[dict]:
    """Records from DaskCluster objects and the gateway's pods (k8s_info resources).

    ``workers`` counts the cluster's worker pods that are Running (the
    desired count is ``replicas``); a cluster whose pods were not listed
    gets the running count 0.
    """
    running_workers: dict[str, int] = {}
    for pod in pods or ():
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/component") != "dask-worker":
            continue
        if ((pod.get("status") or {}).get("phase")) != "Running":
            continue
        cluster = labels.get("gateway.dask.org/cluster")
        running_workers[cluster] = running_workers.get(cluster, 0) + 1
    records = []
    for obj in daskclusters or ():
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase") or "Pending"
        if not include_stopped and phase not in _K8S_ACTIVE_PHASES:
            continue
        # The gateway's own name for the cluster is "<namespace>.<name>"
        # (what users see in list_clusters()); deletion needs both parts.
        name = meta.get("name", "")
        namespace = meta.get("namespace", "")
        records.append(
            _record(
                f"{namespace}.{name}" if namespace else name,
                spec.get("username", ""),
                phase.upper(),
                _parse_k8s_time(meta.get("creationTimestamp")),
                running_workers.get(name, 0),
                spec.get("options"),
                now,
                replicas=int(spec.get("replicas") or 0),
                resource_name=name,
                namespace=namespace,
            )
        )
    return sorted(records, key=lambda r: (r["user"], r["name"]))


# --- Selection -----------------------------------------------------------------


def select(clusters, older_than=None, users=None, orphaned=False) -> list[dict]:
    """The clusters to stop: older than ``older_than`` AND (if given) of one of ``users``
    AND (with ``orphaned``) whose owner is no longer a hub user.

    With no criterion nothing is selected: listing never stops by
    accident. Criteria together narrow (alice's clusters older than 2h).
    A cluster whose start time is unknown never counts as old.
    """
    users = [str(u) for u in (users or [])]
    if older_than in (None, "") and not users and not orphaned:
        return []
    limit = None if older_than in (None, "") else parse_duration(older_than)
    chosen = []
    for cluster in clusters or ():
        if users and cluster.get("user") not in users:
            continue
        if orphaned and not cluster.get("orphaned"):
            continue
        if limit is not None:
            age = cluster.get("age_seconds")
            if age is None or age < limit:
                continue
        chosen.append(cluster)
    return chosen


def summary(clusters) -> list[str]:
    """One line per cluster, for humans (no tokens, no TLS material)."""
    lines = []
    for c in clusters or ():
        age = c.get("age_seconds")
        age_text = "?" if age is None else _human_age(age)
        workers = "?" if c.get("workers") is None else c["workers"]
        owner = "  (owner is no longer a hub user)" if c.get("orphaned") else ""
        lines.append(f"{c['name']}  user={c['user']}  status={c['status']}  age={age_text}  workers={workers}{owner}")
    return lines


def _human_age(seconds) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


# --- The gateway's REST API (local target) -------------------------------------


def from_gateway(user, listing, now=None) -> list[dict]:
    """Records from one user's ``GET /api/v1/clusters/`` answer ({name: cluster})."""
    records = []
    for name, cluster in sorted((listing or {}).items()):
        start_ms = cluster.get("start_time")
        records.append(
            _record(
                name,
                user,
                cluster.get("status", ""),
                None if start_ms is None else start_ms / 1000.0,
                None,
                cluster.get("options"),
                now,
            )
        )
    return records


# dask-gateway-server's JobStatus values (backends/db_base.py) in its
# database's clusters.status column: CREATED, SUBMITTED, RUNNING are active.
_DB_STATUS = {1: "PENDING", 2: "PENDING", 3: "RUNNING", 4: "CLOSING", 5: "STOPPED", 6: "FAILED"}


def from_gateway_db(path, now=None) -> list[dict]:
    """Records of every active cluster in the gateway's own database (sqlite), whoever owns it.

    The gateway's API lists only the caller's clusters, and a user the hub
    no longer has cannot call it, so the clusters of removed users are only
    found here. Read-only; the columns read are not encrypted.
    """
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ClustersError(f"cannot open the gateway database {path}: {exc}") from None
    try:
        rows = connection.execute(
            "SELECT name, username, status, start_time FROM clusters WHERE status IN (1, 2, 3)"
        ).fetchall()
    except sqlite3.Error as exc:
        raise ClustersError(f"cannot read the clusters from the gateway database {path}: {exc}") from None
    finally:
        connection.close()
    return sorted(
        (
            _record(
                name,
                user,
                _DB_STATUS.get(status, str(status)),
                None if start is None else start / 1000.0,
                None,
                None,
                now,
            )
            for name, user, status, start in rows
        ),
        key=lambda r: (r["user"], r["name"]),
    )


def mark_orphaned(clusters, hub_users) -> list[dict]:
    """The clusters with ``orphaned``: True when the owner is not a hub user (any more).

    ``hub_users`` None (the hub was not asked): the clusters as they are.
    """
    if hub_users is None:
        return list(clusters)
    known = set(hub_users)
    return [{**cluster, "orphaned": cluster["user"] not in known} for cluster in clusters]
