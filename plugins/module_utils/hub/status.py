# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A site's status, read-only and quick: the work of the daskhub_status module (playbooks/status.yml).

One call, ``gather(params)``, asks everything once and changes nothing:

- services: the hub (its own API: on the local target its private port, on
  Kubernetes its pod), the proxy (the hub's public URL), the gateway
  (``/api/health`` behind the proxy); on the local target the supervisor's
  programs, on Kubernetes the release's pods (read by kubernetes.core.k8s_info
  in the play and passed in);
- versions: JupyterHub from the hub's API, dask-gateway-server from the
  gateway's ``/api/version``, dask and distributed from the venv the
  clusters run in (local) or as given (Kubernetes: the images');
- users, admins, running servers (the hub's API, one paginated read);
- Dask clusters per user with workers, cores and memory: on the local target
  from the gateway's own database, read-only (its API lists only the
  caller's clusters, and listing as every user would mint a token each);
  on Kubernetes from the DaskCluster resources and the worker pods;
- the last user sync and the last backup, from the small state files they
  write (``user-sync-last.json``, ``backups/last-backup.json``), with their age;
- the certificate the hub's public URL presents, when it is https.

``problems`` lists what makes the status fail (a service down, a limit
passed); ``lines`` is the table. No token or secret is in the result.
Standard library only.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import time

from ansible_collections.daskhub.deploy.plugins.module_utils.host.supervisor import supervisor_states, systemd_states
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import dask_clusters
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status_kubernetes as k8s
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import hub_api_url, hub_base_url, hub_client
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.gateway_clusters import GatewayClusters
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.status_report import stale_problem, table
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import HttpTransport

USER_SYNC_STATE = "user-sync-last.json"
BACKUP_STATE = os.path.join("backups", "last-backup.json")
# dask-gateway-server's JobStatus (backends/db_base.py): CREATED, SUBMITTED, RUNNING.
_ACTIVE = (1, 2, 3)
DIST_PACKAGES = ("dask", "distributed")
# The daskhub_status module's own options (documented there), beside the hub connection's.
STATUS_SPEC = {
    "target": {"type": "str", "choices": ["local", "kubernetes"], "required": True},
    "gateway_url": {"type": "str", "required": True},
    "hub_internal_url": {"type": "str"},
    "timeout": {"type": "float", "default": 5},
    "supervisor": {"type": "str", "choices": ["supervisord", "systemd", "none"], "default": "none"},
    "supervisor_config": {"type": "path"},
    "programs": {"type": "list", "elements": "str", "default": []},
    "venv": {"type": "path"},
    "gateway_db": {"type": "path"},
    "pods": {"type": "list", "elements": "dict", "default": []},
    "daskclusters": {"type": "list", "elements": "dict", "default": []},
    "versions": {"type": "dict", "default": {}},
    "state_dir": {"type": "path", "required": True},
    "max_user_sync_age": {"type": "str"},
    "max_backup_age": {"type": "str"},
    "fail_on_stale": {"type": "bool", "default": True},
}
STATUS_REQUIRED_IF = [("supervisor", "supervisord", ["supervisor_config"])]


def _utc(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text) -> float | None:
    """Epoch seconds of an ISO 8601 time ("2026-03-01T12:00:00Z", with or without an offset); None if unreadable."""
    if not text:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def limit(value, name) -> float | None:
    """Seconds of a staleness limit ("" or None: no limit); ValueError naming ``name``."""
    if value in (None, ""):
        return None
    try:
        return dask_clusters.parse_duration(value)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None


def service(name, up, detail="") -> dict:
    return {"name": name, "up": bool(up), "detail": detail}


def web_services(http: HttpTransport, params: dict) -> tuple[list[dict], dict]:
    """The hub (its own API), the proxy (the public URL) and the gateway; and the versions they tell."""
    services, versions = [], {}
    public = hub_base_url(params["hub_url"])
    if params.get("hub_internal_url"):
        status, data, _unused, error, _unused = http.get(hub_api_url(params["hub_internal_url"]) + "/")
        up = status == 200 and isinstance(data, dict)
        detail = hub_api_url(params["hub_internal_url"]) if up else (error or f"HTTP {status}")
        services.append(service("hub", up, detail))
        if up:
            versions["jupyterhub"] = data.get("version")
    status, data, headers, error, _unused = http.get(hub_api_url(public) + "/")
    # Only the hub's own answer carries its version header: a proxy without the hub's route answers 404/503.
    up = status == 200 and any(key.lower() == "x-jupyterhub-version" for key in headers)
    services.append(service("proxy", up, public if up else (error or f"HTTP {status} without the hub's answer")))
    if up and isinstance(data, dict):
        versions.setdefault("jupyterhub", data.get("version"))
    gateway = params["gateway_url"].rstrip("/")
    status, data, _unused, error, _unused = http.get(gateway + "/api/health")
    health = (data or {}).get("status") if isinstance(data, dict) else None
    up = status == 200 and health in (None, "pass")
    services.append(service("gateway", up, gateway if up else (error or f"HTTP {status}: {health or 'no health'}")))
    if up:
        status, data, _unused, _unused, _unused = http.get(gateway + "/api/version")
        if status == 200 and isinstance(data, dict):
            versions["dask-gateway-server"] = data.get("version")
    return services, versions


def supervisor_programs(states: dict, expected) -> list[dict]:
    """The supervisor's programs: each expected one RUNNING."""
    found = []
    for program in sorted(set(expected) | set(states)):
        state = states.get(program, "not known to the supervisor")
        found.append(service(f"supervisord:{program}", state == "RUNNING", state))
    if not states:
        found.append(service("supervisord", False, "does not answer on its socket"))
    return found


# --- What the local venv has ------------------------------------------------------------


def venv_versions(venv: str, names=DIST_PACKAGES) -> dict:
    """{package: version} from the venv's .dist-info folders: what its schedulers and workers import."""
    found = {}
    for lib in ("lib", "lib64"):
        base = os.path.join(venv, lib)
        if not os.path.isdir(base):
            continue
        for python in sorted(os.listdir(base)):
            site = os.path.join(base, python, "site-packages")
            if not os.path.isdir(site):
                continue
            for entry in os.listdir(site):
                if entry.endswith(".dist-info"):
                    name, _unused, version = entry[: -len(".dist-info")].partition("-")
                    if name.lower().replace("_", "-") in names:
                        found[name.lower().replace("_", "-")] = version
    return found


# --- Users and servers ------------------------------------------------------------------


def hub_users(hub) -> dict:
    """Counts and running servers from one paginated read of the hub's users."""
    users = hub.list_users()
    running = []
    for user in users:
        for name, server in sorted((user.get("servers") or {}).items()):
            if server.get("ready") or server.get("pending"):
                label = user["name"] + (f"/{name}" if name else "")
                running.append(
                    {
                        "server": label,
                        "user": user["name"],
                        "ready": bool(server.get("ready")),
                        "pending": server.get("pending"),
                        "last_activity": server.get("last_activity"),
                    }
                )
    return {
        "users": len(users),
        "admins": sum(1 for user in users if user.get("admin")),
        "servers": running,
        "servers_visible": any("servers" in user for user in users) or not users,
    }


# --- Dask clusters: the local gateway's database ------------------------------------------


def clusters_from_gateway_db(path, now=None) -> list[dict]:
    """Active clusters with their running workers, cores and memory, from the gateway's sqlite (read-only)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise dask_clusters.ClustersError(f"cannot open the gateway database {path}: {exc}") from None
    try:
        rows = connection.execute(
            "SELECT c.id, c.name, c.username, c.status, c.start_time, c.config, "
            "(SELECT COUNT(*) FROM workers w WHERE w.cluster_id = c.id AND w.status IN (?, ?, ?)) "
            "FROM clusters c WHERE c.status IN (?, ?, ?)",
            (*_ACTIVE, *_ACTIVE),
        ).fetchall()
    except sqlite3.Error as exc:
        raise dask_clusters.ClustersError(f"cannot read the clusters from the gateway database {path}: {exc}") from None
    finally:
        connection.close()
    records = []
    for _unused, name, user, status, start, config, workers in rows:
        try:
            settings = json.loads(config) if config else {}
        except (TypeError, ValueError):
            settings = {}
        record = dask_clusters._record(
            name,
            user,
            dask_clusters._DB_STATUS.get(status, str(status)),
            None if start is None else start / 1000.0,
            int(workers),
            None,
            now,
        )
        record["worker_size"] = (settings.get("worker_cores"), settings.get("worker_memory"))
        record.update(resources(int(workers), *record["worker_size"]))
        records.append(record)
    return sorted(records, key=lambda r: (r["user"], r["name"]))


def connected_workers(records, gateway) -> list[dict]:
    """The workers connected to each running cluster's scheduler (``GatewayClusters.worker_count``, its
    dashboard's counts.json through the gateway's proxy), where it answers.

    The gateway's database knows a worker as running only from the
    scheduler's next heartbeat; the scheduler knows at once.
    """
    for record in records:
        if record["status"] != "RUNNING":
            continue
        count = gateway.worker_count(record["name"])
        if count is not None:
            record["workers"] = count
            record.update(resources(count, *record["worker_size"]))
    return records


def resources(workers, cores_each, memory_each) -> dict:
    """Totals of a cluster's workers; None where the size of one is unknown."""
    return {
        "cores": None if cores_each is None else workers * float(cores_each),
        "memory_bytes": None if memory_each is None else int(workers * float(memory_each)),
    }


def per_user(clusters) -> list[dict]:
    totals: dict[str, dict] = {}
    for cluster in clusters:
        entry = totals.setdefault(
            cluster["user"], {"user": cluster["user"], "clusters": 0, "workers": 0, "cores": 0.0, "memory_bytes": 0}
        )
        entry["clusters"] += 1
        entry["workers"] += cluster.get("workers") or 0
        entry["cores"] += cluster.get("cores") or 0
        entry["memory_bytes"] += cluster.get("memory_bytes") or 0
    return [totals[name] for name in sorted(totals)]


# --- Last runs ---------------------------------------------------------------------------


def last_run(path, limit, now) -> dict:
    """A state file of user sync or backup: {found, time, ok, age_seconds, stale, detail}."""
    entry = {"found": False, "time": None, "ok": None, "age_seconds": None, "stale": False, "limit_seconds": limit}
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
    except FileNotFoundError:
        data = None
    except (OSError, ValueError) as exc:
        entry["detail"] = f"unreadable: {exc}"
        data = None
    if isinstance(data, dict):
        moment = parse_time(data.get("time"))
        entry.update(found=moment is not None, time=data.get("time"), ok=data.get("ok"))
        entry["detail"] = str(data.get("summary") or data.get("path") or data.get("error") or "")
        if moment is not None:
            entry["age_seconds"] = int(now - moment)
    if limit is not None:
        entry["stale"] = entry["age_seconds"] is None or entry["age_seconds"] > limit or entry["ok"] is False
    return entry


# --- The certificate ---------------------------------------------------------------------


def certificate(http: HttpTransport, url, now=None) -> dict | None:
    """The expiry of the certificate an https URL presents (read even when it does not verify); None for http."""
    found = http.certificate(url)
    if found is None:
        return None
    expires = found["not_after"]
    now = time.time() if now is None else now
    return {
        "host": found["host"],
        "expires": None if expires is None else _utc(expires),
        "days_left": None if expires is None else int((expires - now) // 86400),
        "error": found["error"],
    }


# --- All together -------------------------------------------------------------------------


def gather(params: dict, hub=None, supervisor_states=None, now=None) -> dict:
    """The status of the site of ``params`` (the module's options); ``hub`` a HubClient with the token."""
    now = time.time() if now is None else now
    http = HttpTransport(
        params.get("timeout", 5), params.get("validate_certs", True), params.get("ca_path"), "daskhub-deploy status"
    )
    services, versions = web_services(http, params)
    if params["target"] == "local":
        if supervisor_states is not None:
            services += supervisor_programs(supervisor_states, params.get("programs") or ())
        if params.get("venv"):
            versions.update(venv_versions(params["venv"]))
    else:
        services += k8s.pod_services(params.get("pods") or [])
        versions.update({key: value for key, value in (params.get("versions") or {}).items() if value})
    result: dict = {"services": services, "versions": versions, "now": _utc(now)}
    problems = [f"{s['name']} is down: {s['detail']}" for s in services if not s["up"]]
    try:
        result["hub"] = hub_users(hub) if hub is not None else None
    except HubAPIError as exc:
        result["hub"] = None
        problems.append(f"the hub's users could not be read: {exc}")
    try:
        if params["target"] == "local":
            clusters = clusters_from_gateway_db(params["gateway_db"], now=now) if params.get("gateway_db") else []
            if hub is not None and any(s["name"] == "gateway" and s["up"] for s in services):
                gateway = GatewayClusters(hub, params["gateway_url"], timeout=http.timeout)
                clusters = connected_workers(clusters, gateway)
        else:
            clusters = k8s.clusters(params.get("daskclusters") or [], params.get("pods") or [], now=now)
    except dask_clusters.ClustersError as exc:
        clusters = []
        problems.append(str(exc))
    result["clusters"] = clusters
    result["users_clusters"] = per_user(clusters)
    state_dir = params.get("state_dir") or ""
    result["user_sync"] = last_run(os.path.join(state_dir, USER_SYNC_STATE), params.get("max_user_sync_age"), now)
    result["backup"] = last_run(os.path.join(state_dir, BACKUP_STATE), params.get("max_backup_age"), now)
    if params.get("fail_on_stale", True):
        for key, what in (("user_sync", "user sync"), ("backup", "backup")):
            entry = result[key]
            if entry["stale"]:
                problems.append(stale_problem(what, entry))
    result["certificate"] = certificate(http, params["hub_url"], now)
    result["problems"] = problems
    result["lines"] = table(result, params["target"])
    return result


def run(module) -> dict:
    """The daskhub_status module's work (``module_run.ModuleWork``): the programs' states, then ``gather``.

    A bad staleness limit or hub connection raises ValueError or HubAPIError.
    """
    params = module.params
    states = None
    if params["supervisor"] == "supervisord":
        states = supervisor_states(params["supervisor_config"], timeout=params["timeout"])
    elif params["supervisor"] == "systemd":
        states = systemd_states(module.run_command, params["programs"])
    limits = {name: limit(params[name], name) for name in ("max_user_sync_age", "max_backup_age")}
    hub = hub_client(params, timeout=params["timeout"], retries=0, unavailable_timeout=0)
    return {"changed": False, **gather(dict(params, **limits), hub=hub, supervisor_states=states)}
