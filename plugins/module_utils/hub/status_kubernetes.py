# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The Kubernetes part of a site's status (hub/status.py): the release's pods and the Dask clusters' resources.

The play reads the namespace's Pods and DaskCluster resources with
kubernetes.core.k8s_info and passes them in; nothing here talks to the
cluster. Standard library only.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.hub import dask_clusters
from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import parse_quantity

# (status name, label, value): z2jh's hub and proxy, the dask-gateway chart's pods.
COMPONENTS = (
    ("pod:hub", "component", "hub"),
    ("pod:proxy", "component", "proxy"),
    ("pod:gateway", "app.kubernetes.io/component", "gateway"),
    ("pod:gateway-controller", "app.kubernetes.io/component", "controller"),
    ("pod:gateway-traefik", "app.kubernetes.io/component", "traefik"),
)
WORKER_COMPONENT = "dask-worker"


def _labels(pod) -> dict:
    return (pod.get("metadata") or {}).get("labels") or {}


def pod_ready(pod) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    return conditions.get("Ready", "True") == "True"


def pod_services(pods) -> list[dict]:
    """One entry per component: up when one of its pods is Running and Ready."""
    found = []
    for name, label, value in COMPONENTS:
        mine = [pod for pod in pods or () if _labels(pod).get(label) == value]
        ready = [pod for pod in mine if pod_ready(pod)]
        detail = f"{len(ready)}/{len(mine)} pods ready" if mine else "no pod"
        found.append({"name": name, "up": bool(ready), "detail": detail})
    return found


def _container_size(pod) -> tuple[float | None, float | None]:
    """(cores, bytes) of a pod's first container: its limits, else its requests."""
    containers = (pod.get("spec") or {}).get("containers") or []
    if not containers:
        return None, None
    resources = containers[0].get("resources") or {}
    sizes = []
    for key in ("cpu", "memory"):
        value = (resources.get("limits") or {}).get(key) or (resources.get("requests") or {}).get(key)
        try:
            sizes.append(None if value in (None, "") else float(parse_quantity(value)))
        except ValueError:
            sizes.append(None)
    return sizes[0], sizes[1]


def clusters(daskclusters, pods, now=None) -> list[dict]:
    """The active clusters (dask_clusters.from_kubernetes) with the cores and memory of their running workers."""
    records = dask_clusters.from_kubernetes(daskclusters, pods, now=now)
    sizes: dict[str, list] = {}
    for pod in pods or ():
        labels = _labels(pod)
        if labels.get("app.kubernetes.io/component") != WORKER_COMPONENT or not pod_ready(pod):
            continue
        sizes.setdefault(labels.get("gateway.dask.org/cluster"), []).append(_container_size(pod))
    for record in records:
        mine = sizes.get(record.get("resource_name"), [])
        cores = [c for c, _unused in mine]
        memory = [m for _unused, m in mine]
        record["cores"] = None if None in cores else float(sum(cores))
        record["memory_bytes"] = None if None in memory else int(sum(memory))
    return records
