# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Dask clusters of a site: list them with user, age and workers; pick the ones to stop.

Both targets produce the same record per cluster::

    {"name", "user", "status", "started" (ISO 8601 UTC), "age_seconds",
     "workers" (int or None when unknown), "options"}

- Kubernetes: from the DaskCluster resources and the worker pods that
  ``kubernetes.core.k8s_info`` returns (``from_kubernetes``).
- local: through the gateway's REST API (``GatewayClusters``). The gateway
  (dask-gateway-server 2026.3.0) only ever lists the caller's own clusters:
  ``GET /api/v1/clusters/`` filters on the token owner's name, and
  ``User.has_permissions`` is ``name == cluster.username`` even for hub admins.
  So an admin-capable hub token mints one short-lived token per user (scope
  ``access:services!service=dask-gateway``), lists and stops that user's
  clusters with it, and revokes it at the end.

Standard library only, so it runs inside modules and filters alike.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request

# Names of dask_gateway_server.models.ClusterStatus. The gateway's "active"
# set (what it lists by default) is PENDING and RUNNING.
ACTIVE_STATUSES = ("PENDING", "RUNNING")
# DaskCluster status.phase values the controller writes (same names, title case).
_K8S_ACTIVE_PHASES = ("Pending", "Running")
GATEWAY_SERVICE_SCOPE = "access:services!service={service}"
TOKEN_NOTE = "daskhub-deploy clusters.yml (revoked at the end of the run)"  # noqa: S105  a label, not a secret
# Long enough for a slow listing of many users, short enough that a run
# killed before its clean-up leaves nothing usable for long.
TOKEN_LIFETIME = 900

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


class GatewayClusters:
    """Lists and stops every user's clusters through the gateway, with a hub admin token.

    ``hub`` is a ``jupyterhub_api.HubClient`` whose token may create tokens
    for other users (the hub's ``tokens`` scope, e.g. a service in the
    ``admin`` role). ``gateway_url`` is the gateway's address,
    ``<hub>/services/dask-gateway`` on both targets.
    """

    def __init__(self, hub, gateway_url, service="dask-gateway", timeout=30.0):
        self.hub = hub
        if urllib.parse.urlparse(gateway_url).scheme not in ("http", "https"):
            raise ClustersError(f"the gateway URL {gateway_url!r} is not an http(s) URL")
        self.gateway_url = gateway_url.rstrip("/")
        self.service = service
        self.timeout = float(timeout)
        self._tokens: dict[str, dict] = {}
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- tokens -------------------------------------------------------------
    def _token(self, user) -> str:
        if user not in self._tokens:
            self._tokens[user] = self.hub.create_token(
                user,
                note=TOKEN_NOTE,
                expires_in=TOKEN_LIFETIME,
                scopes=[GATEWAY_SERVICE_SCOPE.format(service=self.service)],
            )
        return self._tokens[user]["token"]

    def revoke_tokens(self) -> list[str]:
        """Revoke every token this object minted; returns the users whose revocation failed."""
        failed = []
        for user, model in list(self._tokens.items()):
            try:
                self.hub.revoke_token(user, model["id"])
            except Exception:  # clean-up goes on; the token expires by itself anyway
                failed.append(user)
            del self._tokens[user]
        return failed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.revoke_tokens()

    # -- gateway requests ----------------------------------------------------
    def _request(self, method, path, user):
        # The gateway's JupyterHubAuthenticator reads "Authorization: jupyterhub
        # <token>"; "token <x>" is how a cluster's own API token authenticates.
        url = self.gateway_url + path
        req = urllib.request.Request(  # noqa: S310  gateway_url is checked to be http(s)
            url,
            method=method,
            headers={"Authorization": f"jupyterhub {self._token(user)}", "Accept": "application/json"},
        )
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")[:300]
            if exc.code in (401, 403):
                hint = (
                    f"the gateway refused a token minted for user {user!r} ({exc.code}). Its hub role must "
                    f"allow {GATEWAY_SERVICE_SCOPE.format(service=self.service)} (the 'user' role does on "
                    "our sites)"
                )
            else:
                hint = f"HTTP {exc.code}"
            raise ClustersError(f"{method} {url}: {hint}: {body}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ClustersError(
                f"cannot reach the Dask Gateway at {self.gateway_url} ({method} {url}: "
                f"{getattr(exc, 'reason', exc)}). Is the gateway running and registered as the hub "
                f"service {self.service!r}?"
            ) from None

    def list_user(self, user, now=None) -> list[dict]:
        _, listing = self._request("GET", "/api/v1/clusters/?status=" + ",".join(ACTIVE_STATUSES).lower(), user)
        records = from_gateway(user, listing, now=now)
        for record in records:
            record["workers"] = self.worker_count(record["name"]) if record["status"] == "RUNNING" else 0
        return records

    def list_all(self, users=None, now=None) -> tuple[list[dict], list[str]]:
        """Every active cluster of ``users`` (default: every hub user).

        Returns (records, unknown): names in ``users`` the hub does not know
        cannot be asked for (a token needs an owner) and are returned apart.
        """
        on_hub = [u["name"] for u in self.hub.list_users()]
        if users:
            names = [name for name in users if name in on_hub]
            unknown = sorted(set(users) - set(on_hub))
        else:
            names, unknown = on_hub, []
        found, errors = self.hub.run_parallel(lambda name: self.list_user(name, now=now), names)
        # run_parallel collects HubAPIError (a token refused by the hub);
        # ClustersError (the gateway) propagates from the worker threads.
        if errors:
            first = sorted(errors)[0]
            raise ClustersError(f"could not get a gateway token for user {first!r}: {errors[first]}")
        records = [record for name in names for record in found.get(name, [])]
        return sorted(records, key=lambda r: (r["user"], r["name"])), unknown

    def list_orphans(self, gateway_db, users=None, now=None) -> list[dict]:
        """The active clusters in ``gateway_db`` whose owner the hub no longer has (of ``users`` if given)."""
        hub_users = [user["name"] for user in self.hub.list_users()]
        records = mark_orphaned(from_gateway_db(gateway_db, now=now), hub_users)
        orphans = [r for r in records if r["orphaned"] and (not users or r["user"] in users)]
        for record in orphans:
            record["workers"] = self.worker_count(record["name"]) if record["status"] == "RUNNING" else 0
        return orphans

    def worker_count(self, name):
        """Workers connected to the scheduler, from its dashboard's JSON; None when it does not answer.

        The gateway's API does not return a worker count; the scheduler's
        HTTP server does (distributed.http.scheduler.json, on by default),
        behind the gateway proxy at /clusters/<name>/.
        """
        url = f"{self.gateway_url}/clusters/{urllib.parse.quote(name)}/json/counts.json"
        try:
            with self._opener.open(urllib.request.Request(url), timeout=self.timeout) as resp:  # noqa: S310
                return int(json.loads(resp.read()).get("workers"))
        except (urllib.error.URLError, OSError, ValueError, TypeError):
            return None

    def stop(self, clusters) -> list[str]:
        """DELETE each cluster as its owner; returns the names stopped.

        The gateway lets only a cluster's owner stop it (hub admins
        included), so the owner of an orphaned cluster is created on the hub
        again for the DELETE and deleted right after: for those seconds the
        name exists on the hub without being in the site's user lists.
        """
        stopped = []
        for cluster in clusters:
            recreated = bool(cluster.get("orphaned")) and bool(self.hub.create_users([cluster["user"]]))
            try:
                self._request("DELETE", f"/api/v1/clusters/{urllib.parse.quote(cluster['name'])}", cluster["user"])
            finally:
                if recreated:
                    self._drop_token(cluster["user"])
                    self.hub.delete_user(cluster["user"])
            stopped.append(cluster["name"])
        return stopped

    def _drop_token(self, user) -> None:
        model = self._tokens.pop(user, None)
        if model is not None:
            with contextlib.suppress(Exception):  # deleting the user deletes its tokens anyway
                self.hub.revoke_token(user, model["id"])
