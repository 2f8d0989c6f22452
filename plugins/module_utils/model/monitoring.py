"""The site model's monitoring: the hub services Prometheus and the gateway exporter use, their roles, the
exporter's settings, the alert and recording rules and the dashboards, for both targets.

Turned on by ``daskhub_monitoring_enabled``. What runs is real files of
plugins/files/monitoring/: the exporter (``daskhub_gateway_exporter.py``, a
hub-managed service on both targets, reading its settings as JSON from
``DASKHUB_EXPORTER_SETTINGS``), the rule file (``daskhub-rules.yml``, whose
``${name}`` placeholders take the site's thresholds here) and the Grafana
dashboards (``dashboards/*.json``). render/local/monitoring.py puts them in
the local prefix beside Prometheus' configuration; render/kubernetes/monitoring.py
in ServiceMonitor, PodMonitor, PrometheusRule and ConfigMap objects.
"""

from __future__ import annotations

import json
import re

from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX, GATEWAY_SERVICE
from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import parse_quantity

PROMETHEUS_SERVICE = "prometheus"
EXPORTER_SERVICE = "daskhub-gateway-exporter"
# Exactly what /hub/metrics asks for (JupyterHub.authenticate_prometheus).
PROMETHEUS_SCOPES = ["read:metrics"]
# The gateway lists only the caller's own clusters, even for hub admins
# (hub/gateway_clusters.py), so the exporter mints each user a short-lived
# token with the gateway scope alone: ``tokens`` is that power. The rest
# reads the users, their groups (accounting per group) and their servers
# (notebook usage).
EXPORTER_SCOPES = ["list:users", "read:users:name", "read:users:groups", "read:servers", "tokens"]
EXPORTER_SCRIPT = "daskhub_gateway_exporter.py"
RULES_FILE = "daskhub-rules.yml"
DASHBOARDS = ("daskhub-hub.json", "daskhub-gateway.json")
# What the exporter imports: the project's one hub and gateway client,
# installed beside it under its own import path (standard library only).
EXPORTER_LIBRARY = (
    "hub/api.py",
    "hub/api_errors.py",
    "hub/transport.py",
    "hub/connection.py",
    "hub/dask_clusters.py",
    "hub/gateway_clusters.py",
)
LIBRARY_PACKAGE = "ansible_collections/daskhub/deploy/plugins/module_utils"
# Prometheus' job names, the same on both targets: the rules and dashboards select on them.
JOBS = {"hub": "jupyterhub", "proxy": "jupyterhub-proxy", "exporter": EXPORTER_SERVICE, "schedulers": "dask-schedulers"}
PROMETHEUS_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def enabled(model: dict) -> bool:
    return bool((model.get("monitoring") or {}).get("enabled"))


def duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration ("30s", "1h30m"); ValueError otherwise."""
    text = str(text).strip()
    if not PROMETHEUS_DURATION.match(text):
        raise ValueError(f"not a Prometheus duration: {text!r} (use a number and a unit: 30s, 5m, 24h)")
    return sum(float(number) * _SECONDS[unit] for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


def monitoring_errors(model: dict) -> list[tuple[str, str]]:
    """(model field, message) for each bad monitoring setting; validation/model.py names the variables."""
    monitoring = model.get("monitoring") or {}
    if not monitoring.get("enabled"):
        return []
    errors = []
    for key in ("scrape_interval", "evaluation_interval", "alert_for", "max_cluster_age"):
        try:
            duration_seconds(monitoring.get(key))
        except ValueError as err:
            errors.append((f"monitoring.{key}", str(err)))
    ratio = monitoring.get("disk_free_ratio")
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not 0 < float(ratio) < 1:
        errors.append(("monitoring.disk_free_ratio", f"must be a number between 0 and 1, not {ratio!r}"))
    return errors


def hub_services(model: dict, exporter_command: list[str] | None, exporter_settings: dict | None) -> dict:
    """The monitoring's hub services (name -> settings), without tokens: none unless enabled.

    The exporter is a hub-managed service: the hub starts it with its token
    (JUPYTERHUB_API_TOKEN) and restarts it with the hub, on both targets.
    """
    if not enabled(model):
        return {}
    services = {PROMETHEUS_SERVICE: {"display": False}}
    if exporter_command:
        services[EXPORTER_SERVICE] = {
            "display": False,
            "command": list(exporter_command),
            "environment": {"DASKHUB_EXPORTER_SETTINGS": json.dumps(exporter_settings, sort_keys=True)},
        }
    return services


def hub_roles(model: dict) -> list[dict]:
    if not enabled(model):
        return []
    return [
        {
            "name": PROMETHEUS_SERVICE,
            "description": "Prometheus reads /hub/metrics, nothing else",
            "scopes": list(PROMETHEUS_SCOPES),
            "services": [PROMETHEUS_SERVICE],
        },
        {
            "name": EXPORTER_SERVICE,
            "description": "The gateway's metrics: every user's clusters, through gateway tokens it mints per user",
            "scopes": list(EXPORTER_SCOPES),
            "services": [EXPORTER_SERVICE],
        },
    ]


def _notebook_resources(model: dict) -> dict:
    """What one notebook server holds, for accounting: its guarantee, else its limit, else nothing known (0)."""
    singleuser = model.get("singleuser") or {}
    cores = singleuser.get("cpu_guarantee") or singleuser.get("cpu_limit") or 0
    memory = singleuser.get("memory_guarantee") or singleuser.get("memory_limit") or 0
    return {"cores": float(cores), "memory_bytes": int(parse_quantity(memory)) if memory else 0}


def exporter_settings(
    model: dict, *, bind: str, gateway_url: str, scheduler_address: str, library: str, filesystems: list[str]
) -> dict:
    """DASKHUB_EXPORTER_SETTINGS: where the exporter listens, what it asks, what it reports."""
    monitoring = model.get("monitoring") or {}
    return {
        "bind": bind,
        "port": int(monitoring.get("exporter_port") or 9488),
        "poll_interval": duration_seconds(monitoring.get("exporter_poll_interval") or "15s"),
        "gateway_url": gateway_url,
        "gateway_service": GATEWAY_SERVICE,
        # http_sd: each running scheduler's /metrics behind the gateway's proxy.
        "scheduler_address": scheduler_address,
        "scheduler_path_prefix": GATEWAY_PREFIX,
        "library": library,
        "filesystems": list(filesystems),
        "notebook": _notebook_resources(model),
    }


def rule_parameters(model: dict) -> dict:
    monitoring = model.get("monitoring") or {}
    return {
        "alert_for": str(monitoring.get("alert_for")),
        "max_cluster_age_seconds": int(duration_seconds(monitoring.get("max_cluster_age"))),
        "disk_free_ratio": float(monitoring.get("disk_free_ratio")),
        **{f"job_{key}": job for key, job in JOBS.items()},
    }


def render_rules(rules: dict, model: dict) -> dict:
    """The rule file (plugins/files/monitoring/daskhub-rules.yml, loaded) with the site's values."""
    parameters = rule_parameters(model)

    def fill(value):
        if isinstance(value, str):
            # Only ${name}: $labels and $value are Prometheus' own templates.
            return PLACEHOLDER.sub(lambda match: str(parameters[match.group(1)]), value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    return fill(rules)
