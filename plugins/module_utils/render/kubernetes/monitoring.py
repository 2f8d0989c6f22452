"""The Kubernetes target's monitoring: what the hub's values carry for the gateway exporter, and the objects
for sites that run the Prometheus operator (model/monitoring.py has the pieces both targets share).

- values: the exporter as a hub-managed service in the hub pod (its code
  and the project's client as hub.extraFiles), its port on the hub's Service
  (hub.service.extraPorts), and the hub's network policy letting
  Prometheus' pods reach the hub's API and the exporter;
- objects (applied by the role daskhub_kubernetes_release with
  kubernetes.core.k8s): a Secret with Prometheus' hub token (read:metrics),
  ServiceMonitors for the hub (/hub/metrics with that token), the exporter
  and the proxy, a PodMonitor for the schedulers' /metrics, a
  PrometheusRule from plugins/files/monitoring/daskhub-rules.yml, and the
  dashboards as ConfigMaps for Grafana's sidecar (label grafana_dashboard: "1").
"""

from __future__ import annotations

import json
import os

from ansible_collections.daskhub.deploy.plugins.module_utils.model import monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX
from ansible_collections.daskhub.deploy.plugins.module_utils.model.secrets import service_secret_name
from ansible_collections.daskhub.deploy.plugins.module_utils.render import files as service_files
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.releases import gateway_service_url
from ansible_collections.daskhub.deploy.plugins.module_utils.yaml_io import require_yaml

# Where the hub pod finds the exporter and the project's client (hub.extraFiles).
EXPORTER_DIR = "/usr/local/share/daskhub/monitoring"
EXPORTER_PORT_NAME = "gateway-metrics"
HUB_PORT_NAME = "hub"  # z2jh's hub Service port (8081)
# The Prometheus operator's pods carry this label; the hub's network policy lets them in.
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
# Prometheus runs in a namespace of its own; an empty selector would be pruned from the values.
EVERY_NAMESPACE = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "Exists"}]}
TOKEN_KEY = "token"  # noqa: S105  a key name


def _module_utils_dir(files_dir: str | None) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(files_dir or service_files.FILES_DIR)), "module_utils")


def exporter(model: dict) -> tuple | None:
    """(command, settings) of the exporter in the hub pod, for hub_model.hub_services; None with monitoring off."""
    if not monitoring.enabled(model):
        return None
    gateway = gateway_service_url(model)
    settings = monitoring.exporter_settings(
        model,
        bind="0.0.0.0",  # noqa: S104  the pod's address: Prometheus scrapes it through the hub's Service
        gateway_url=gateway + GATEWAY_PREFIX,
        scheduler_address=gateway.split("://", 1)[1] + ":80",
        library=f"{EXPORTER_DIR}/lib",
        # The hub database's volume (z2jh: hub.db.type sqlite-pvc).
        filesystems=["/srv/jupyterhub"],
    )
    return ["python3", f"{EXPORTER_DIR}/{monitoring.EXPORTER_SCRIPT}"], settings


def hub_values(model: dict, files_dir: str | None = None) -> dict:
    """What the jupyterhub values add for the exporter: extraFiles, the Service's port, the network policy."""
    if not monitoring.enabled(model):
        return {}
    port = int(model["monitoring"]["exporter_port"])
    extra_files = {
        "daskhub-gateway-exporter": {
            "mountPath": f"{EXPORTER_DIR}/{monitoring.EXPORTER_SCRIPT}",
            "stringData": service_files.read(f"monitoring/{monitoring.EXPORTER_SCRIPT}", files_dir),
        }
    }
    source = _module_utils_dir(files_dir)
    for relative in monitoring.EXPORTER_LIBRARY:
        with open(os.path.join(source, relative), encoding="utf-8") as handle:
            content = handle.read()
        key = "daskhub-lib-" + relative.replace("/", "-").replace(".py", "").replace("_", "-")
        extra_files[key] = {
            "mountPath": f"{EXPORTER_DIR}/lib/{monitoring.LIBRARY_PACKAGE}/{relative}",
            "stringData": content,
        }
    return {
        "hub": {
            "extraFiles": extra_files,
            "service": {"extraPorts": [{"name": EXPORTER_PORT_NAME, "port": port, "targetPort": port}]},
            "networkPolicy": {
                "ingress": [
                    {
                        "ports": [{"port": 8081}, {"port": port}],
                        "from": [
                            {
                                "namespaceSelector": EVERY_NAMESPACE,
                                "podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)},
                            }
                        ],
                    }
                ]
            },
        }
    }


def selector_labels(model: dict) -> dict:
    """The labels every monitoring object carries: uninstall deletes by them."""
    return {
        "app.kubernetes.io/managed-by": "daskhub-deploy",
        "app.kubernetes.io/component": "daskhub-monitoring",
        "app.kubernetes.io/instance": str(model["release_name"]),
    }


def selector(model: dict) -> str:
    return ",".join(f"{key}={value}" for key, value in selector_labels(model).items())


def _meta(model: dict, name: str, extra_labels: dict | None = None) -> dict:
    labels = dict(selector_labels(model))
    labels.update({str(k): str(v) for k, v in ((model.get("monitoring") or {}).get("kubernetes_labels") or {}).items()})
    labels.update(extra_labels or {})
    return {"name": f"{model['release_name']}-{name}", "namespace": model["namespace"], "labels": labels}


def _job(name: str) -> list[dict]:
    """The same job label as on the local target: the rules and dashboards select on it."""
    return [{"targetLabel": "job", "replacement": name, "action": "replace"}]


def token_secret(model: dict, secrets: dict) -> list[dict]:
    """The Secret with Prometheus' hub token (read:metrics) the hub's ServiceMonitor names; applied with no_log."""
    if not monitoring.enabled(model):
        return []
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(model, "prometheus-hub-token"),
            "type": "Opaque",
            "stringData": {TOKEN_KEY: secrets[service_secret_name(monitoring.PROMETHEUS_SERVICE)]},
        }
    ]


def objects(model: dict, files_dir: str | None = None) -> list[dict]:
    """The objects for the Prometheus operator and Grafana's sidecar but the token's Secret; none when off."""
    if not monitoring.enabled(model):
        return []
    mon = model["monitoring"]
    jobs = monitoring.JOBS
    release = model["release_name"]
    token_secret = _meta(model, "prometheus-hub-token")  # token_secret()'s
    hub_selector = {"matchLabels": {"component": "hub", "release": release}}
    rules = monitoring.render_rules(
        require_yaml().safe_load(service_files.read(f"monitoring/{monitoring.RULES_FILE}", files_dir)), model
    )
    items = [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": _meta(model, "jupyterhub"),
            "spec": {
                "selector": hub_selector,
                "namespaceSelector": {"matchNames": [model["namespace"]]},
                "endpoints": [
                    {
                        "port": HUB_PORT_NAME,
                        "path": "/hub/metrics",
                        "interval": mon["scrape_interval"],
                        "authorization": {
                            "type": "Bearer",
                            "credentials": {"name": token_secret["name"], "key": TOKEN_KEY},
                        },
                        "relabelings": _job(jobs["hub"]),
                    },
                    {
                        "port": EXPORTER_PORT_NAME,
                        "path": "/metrics",
                        "interval": mon["scrape_interval"],
                        "relabelings": _job(jobs["exporter"]),
                    },
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": _meta(model, "jupyterhub-proxy"),
            "spec": {
                "selector": {"matchLabels": {"component": "proxy-public", "release": release}},
                "namespaceSelector": {"matchNames": [model["namespace"]]},
                "endpoints": [
                    {
                        "port": "https" if model.get("https_enabled") else "http",
                        "scheme": "https" if model.get("https_enabled") else "http",
                        "path": "/hub/health",
                        "interval": mon["scrape_interval"],
                        "relabelings": _job(jobs["proxy"]),
                    }
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": _meta(model, "dask-schedulers"),
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/component": "dask-scheduler"}},
                "namespaceSelector": {"matchNames": [model["namespace"]]},
                "podMetricsEndpoints": [
                    {
                        "port": "dashboard",
                        "path": "/metrics",
                        "interval": mon["scrape_interval"],
                        "relabelings": [
                            *_job(jobs["schedulers"]),
                            {
                                "sourceLabels": ["__meta_kubernetes_pod_label_gateway_dask_org_cluster"],
                                "targetLabel": "cluster",
                                "action": "replace",
                            },
                        ],
                    }
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": _meta(model, "rules"),
            "spec": json.loads(json.dumps(rules)),
        },
    ]
    for name in monitoring.DASHBOARDS:
        dashboard = service_files.read(f"monitoring/dashboards/{name}", files_dir)
        items.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta(model, name.removesuffix(".json") + "-dashboard", {"grafana_dashboard": "1"}),
                "data": {name: dashboard},
            }
        )
    return items
