# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Prometheus metrics of the Dask Gateway, which dask-gateway-server does not serve (dask-gateway#370).

A JupyterHub-managed service on both targets (model/monitoring.py): the hub
starts it with its own token (JUPYTERHUB_API_TOKEN, role
``daskhub-gateway-exporter``) and its settings as JSON in
DASKHUB_EXPORTER_SETTINGS. Every ``poll_interval`` it lists every hub user's
active clusters through the gateway's own API with the project's one client
(hub/gateway_clusters.py, installed beside this file under ``library``) and
serves, on ``bind``:``port``:

- ``/metrics``: per user the clusters, workers, worker cores and memory
  (every hub user, with zeros: usage accounting averages over time), each
  cluster's age and workers, each user's running notebook servers and what
  they hold, the users' groups, the file systems' free bytes, and the
  exporter's own health (``daskhub_gateway_up``: whether the last poll reached the gateway);
- ``/targets``: Prometheus HTTP service discovery (http_sd) of every running
  scheduler's ``/metrics`` (distributed's, on the scheduler's dashboard),
  behind the gateway's proxy at ``<prefix>/clusters/<name>/metrics``.

Standard library, prometheus_client (a JupyterHub dependency) and the
project's client.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

SETTINGS = json.loads(os.environ.get("DASKHUB_EXPORTER_SETTINGS") or "{}")
if SETTINGS.get("library") and SETTINGS["library"] not in sys.path:
    sys.path.insert(0, SETTINGS["library"])

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient  # noqa: E402
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.gateway_clusters import GatewayClusters  # noqa: E402

log = logging.getLogger("daskhub.gateway_exporter")
GIB = 2**30
TOKEN_NOTE = "daskhub-gateway-exporter: lists this user's clusters (expires by itself)"  # noqa: S105  a label


def _running_servers(user: dict) -> int:
    return sum(1 for server in (user.get("servers") or {}).values() if server.get("ready") or server.get("pending"))


class Snapshot:
    """What the last poll saw; the collector reads it, the poller replaces it whole."""

    def __init__(self, users=(), clusters=(), up=0, error="", duration=0.0, finished=0.0):
        self.users = list(users)
        self.clusters = list(clusters)
        self.up = up
        self.error = error
        self.duration = duration
        self.finished = finished


class Exporter:
    def __init__(self, settings: dict, hub: HubClient):
        self.settings = settings
        self.hub = hub
        self.gateway = GatewayClusters(
            hub, settings["gateway_url"], service=settings.get("gateway_service", "dask-gateway"), note=TOKEN_NOTE
        )
        self.snapshot = Snapshot()
        self.polls = 0
        self.failures = 0

    # -- polling -------------------------------------------------------------
    def poll_once(self) -> None:
        started = time.monotonic()
        users, clusters, up, error = [], [], 0, ""
        try:
            users = self.hub.list_users()
            clusters, _unused = self.gateway.list_all(hub_users=users)
            up = 1
        except Exception as exc:  # reported as daskhub_gateway_up 0; the next poll tries again
            error = str(exc)
            self.failures += 1
            log.warning("poll failed: %s", error)
            users = users or self.snapshot.users
        self.polls += 1
        self.snapshot = Snapshot(users, clusters, up, error, time.monotonic() - started, time.time())

    def run_polls(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll_once()
            stop.wait(float(self.settings.get("poll_interval", 15)))

    # -- metrics ---------------------------------------------------------------
    def collect(self):
        snap = self.snapshot
        per_user = {u["name"]: {"clusters": 0, "workers": 0, "cores": 0.0, "memory": 0.0} for u in snap.users}
        age = GaugeMetricFamily(
            "daskhub_gateway_cluster_age_seconds", "Seconds since the cluster started", labels=["user", "cluster"]
        )
        cluster_workers = GaugeMetricFamily(
            "daskhub_gateway_cluster_workers",
            "Workers connected to the cluster's scheduler",
            labels=["user", "cluster"],
        )
        for record in snap.clusters:
            totals = per_user.setdefault(record["user"], {"clusters": 0, "workers": 0, "cores": 0.0, "memory": 0.0})
            workers = int(record.get("workers") or 0)
            options = record.get("options") or {}
            totals["clusters"] += 1
            totals["workers"] += workers
            totals["cores"] += workers * float(options.get("worker_cores") or 0)
            totals["memory"] += workers * float(options.get("worker_memory") or 0) * GIB
            if record.get("age_seconds") is not None:
                age.add_metric([record["user"], record["name"]], float(record["age_seconds"]))
            cluster_workers.add_metric([record["user"], record["name"]], workers)
        families = {
            "clusters": GaugeMetricFamily(
                "daskhub_gateway_clusters", "Active (pending or running) clusters", labels=["user"]
            ),
            "workers": GaugeMetricFamily("daskhub_gateway_workers", "Workers of the user's clusters", labels=["user"]),
            "cores": GaugeMetricFamily("daskhub_gateway_worker_cores", "Cores of the user's workers", labels=["user"]),
            "memory": GaugeMetricFamily(
                "daskhub_gateway_worker_memory_bytes", "Memory of the user's workers", labels=["user"]
            ),
        }
        for user, totals in sorted(per_user.items()):
            for key, family in families.items():
                family.add_metric([user], totals[key])
        yield from families.values()
        yield age
        yield cluster_workers
        yield from self._notebook_metrics(snap)
        yield from self._filesystem_metrics()
        up = GaugeMetricFamily("daskhub_gateway_up", "Whether the last poll reached the hub and the gateway")
        up.add_metric([], snap.up)
        yield up
        duration = GaugeMetricFamily("daskhub_gateway_exporter_poll_seconds", "How long the last poll took")
        duration.add_metric([], snap.duration)
        yield duration
        failures = GaugeMetricFamily("daskhub_gateway_exporter_failed_polls", "Polls that failed since the start")
        failures.add_metric([], self.failures)
        yield failures

    def _notebook_metrics(self, snap):
        notebook = self.settings.get("notebook") or {}
        servers = GaugeMetricFamily("daskhub_hub_servers", "Running notebook servers", labels=["user"])
        cores = GaugeMetricFamily("daskhub_hub_server_cores", "Cores the user's servers hold", labels=["user"])
        memory = GaugeMetricFamily("daskhub_hub_server_memory_bytes", "Memory the user's servers hold", labels=["user"])
        groups = GaugeMetricFamily("daskhub_hub_user_group", "1 for each group of each user", labels=["user", "group"])
        for user in snap.users:
            count = _running_servers(user)
            servers.add_metric([user["name"]], count)
            cores.add_metric([user["name"]], count * float(notebook.get("cores") or 0))
            memory.add_metric([user["name"]], count * float(notebook.get("memory_bytes") or 0))
            for group in user.get("groups") or []:
                groups.add_metric([user["name"], group], 1)
        return servers, cores, memory, groups

    def _filesystem_metrics(self):
        avail = GaugeMetricFamily("daskhub_filesystem_avail_bytes", "Bytes free to users", labels=["path"])
        size = GaugeMetricFamily("daskhub_filesystem_size_bytes", "Size of the file system", labels=["path"])
        for path in self.settings.get("filesystems") or []:
            try:
                stat = os.statvfs(path)
            except OSError:
                continue
            avail.add_metric([path], stat.f_bavail * stat.f_frsize)
            size.add_metric([path], stat.f_blocks * stat.f_frsize)
        return avail, size

    # -- service discovery --------------------------------------------------------
    def targets(self) -> list[dict]:
        prefix = self.settings.get("scheduler_path_prefix", "").rstrip("/")
        return [
            {
                "targets": [self.settings["scheduler_address"]],
                "labels": {
                    "__metrics_path__": f"{prefix}/clusters/{urllib.parse.quote(record['name'])}/metrics",
                    "cluster": record["name"],
                    "user": record["user"],
                },
            }
            for record in self.snapshot.clusters
            if record.get("status") == "RUNNING"
        ]


def make_handler(exporter: Exporter, registry: CollectorRegistry):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = urllib.parse.urlparse(self.path).path
            if path == "/metrics":
                body, kind = generate_latest(registry), CONTENT_TYPE_LATEST
            elif path == "/targets":
                body, kind = json.dumps(exporter.targets()).encode(), "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # Prometheus asks every few seconds: no access log
            return

    return Handler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    api_url = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
    hub = HubClient(api_url, os.environ["JUPYTERHUB_API_TOKEN"], timeout=30.0)
    exporter = Exporter(SETTINGS, hub)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(exporter)
    stop = threading.Event()
    threading.Thread(target=exporter.run_polls, args=(stop,), daemon=True, name="poll").start()
    server = ThreadingHTTPServer(
        (SETTINGS.get("bind", "127.0.0.1"), int(SETTINGS.get("port", 9488))), make_handler(exporter, registry)
    )
    # The hub stops its services with SIGTERM: end through `finally`, revoking the minted tokens.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("serving /metrics and /targets on %s:%s", *server.server_address[:2])
    try:
        server.serve_forever()
    finally:
        stop.set()
        exporter.gateway.revoke_tokens()


if __name__ == "__main__":
    main()
