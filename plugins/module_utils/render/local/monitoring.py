"""The local target's monitoring: the exporter as the hub starts it, Prometheus' and Alertmanager's
configuration, and the files the role daskhub_local installs for them (model/monitoring.py has the pieces
both targets share).

Prometheus and Alertmanager are the distribution's (role daskhub_monitoring
installs them) and run under the site's supervisord, bound to 127.0.0.1. The
hub's token for /hub/metrics is in a 0600 file Prometheus reads
(``credentials_file``), never in prometheus.yml.
"""

from __future__ import annotations

import json
import os

from ansible_collections.daskhub.deploy.plugins.module_utils.model import monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX
from ansible_collections.daskhub.deploy.plugins.module_utils.model.secrets import service_secret_name
from ansible_collections.daskhub.deploy.plugins.module_utils.render import files as service_files
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.addresses import (
    connect_host,
    gateway_service_url,
    hub_host_port,
    hub_internal_url,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.paths import paths
from ansible_collections.daskhub.deploy.plugins.module_utils.yaml_io import require_yaml

PROMETHEUS_BIN = "/usr/bin/prometheus"
ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager"
# plugins/module_utils/render/local/monitoring.py -> plugins/module_utils/
MODULE_UTILS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def monitoring_paths(prefix: str) -> dict:
    p = paths(prefix)
    etc = os.path.join(p["etc"], "monitoring")
    return {
        "etc": etc,
        "library": os.path.join(etc, "lib"),
        "exporter": os.path.join(etc, monitoring.EXPORTER_SCRIPT),
        "prometheus_yml": os.path.join(etc, "prometheus.yml"),
        "rules": os.path.join(etc, monitoring.RULES_FILE),
        "alertmanager_yml": os.path.join(etc, "alertmanager.yml"),
        "dashboards": os.path.join(etc, "dashboards"),
        "hub_token": os.path.join(p["state"], "prometheus-hub-token"),
        "prometheus_data": os.path.join(p["state"], "prometheus"),
        "alertmanager_data": os.path.join(p["state"], "alertmanager"),
    }


def exporter(model: dict, settings: dict) -> tuple | None:
    """(command, settings) of the gateway exporter, for hub_model.hub_services; None with monitoring off."""
    if not monitoring.enabled(model):
        return None
    p, m = paths(settings["prefix"]), monitoring_paths(settings["prefix"])
    gateway = gateway_service_url(settings)
    exporter_settings = monitoring.exporter_settings(
        model,
        bind="127.0.0.1",
        gateway_url=gateway + GATEWAY_PREFIX,
        scheduler_address=gateway.split("://", 1)[1],
        library=m["library"],
        filesystems=[p["prefix"]],
    )
    return [p["python"], m["exporter"]], exporter_settings


def prometheus_config(model: dict, settings: dict, ports: dict) -> dict:
    """prometheus.yml: the hub, the proxy, the exporter, the schedulers (http_sd), the rules, Alertmanager."""
    m = monitoring_paths(settings["prefix"])
    mon = model["monitoring"]
    jobs = monitoring.JOBS
    exporter_address = f"127.0.0.1:{int(mon['exporter_port'])}"
    return {
        "global": {
            "scrape_interval": mon["scrape_interval"],
            "evaluation_interval": mon["evaluation_interval"],
        },
        "rule_files": [m["rules"]],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{int(ports['alertmanager'])}"]}]}]},
        "scrape_configs": [
            {
                "job_name": jobs["hub"],
                "metrics_path": "/hub/metrics",
                "authorization": {"type": "Bearer", "credentials_file": m["hub_token"]},
                "static_configs": [{"targets": [hub_host_port(settings)]}],
            },
            {
                # The public proxy: the hub's health check through it (an empty answer, no metrics).
                "job_name": jobs["proxy"],
                "metrics_path": "/hub/health",
                "static_configs": [
                    {"targets": [hub_internal_url(settings).split("://", 1)[1]]},
                ],
            },
            {"job_name": jobs["exporter"], "static_configs": [{"targets": [exporter_address]}]},
            {
                "job_name": jobs["schedulers"],
                "http_sd_configs": [
                    {"url": f"http://{exporter_address}/targets", "refresh_interval": mon["scrape_interval"]}
                ],
            },
        ],
    }


def alertmanager_config(extra: dict | None) -> dict:
    """alertmanager.yml: the site's (daskhub_monitoring_alertmanager_config), else one receiver that sends nothing."""
    if extra:
        return extra
    return {"route": {"receiver": "default", "group_by": ["alertname"]}, "receivers": [{"name": "default"}]}


def program_commands(settings: dict, ports: dict) -> dict:
    """The supervisord programs' command lines (roles/daskhub_local/templates/supervisord.conf.j2)."""
    m = monitoring_paths(settings["prefix"])
    return {
        "prometheus": " ".join(
            [
                PROMETHEUS_BIN,
                f"--config.file={m['prometheus_yml']}",
                f"--storage.tsdb.path={m['prometheus_data']}",
                f"--web.listen-address=127.0.0.1:{int(ports['prometheus'])}",
            ]
        ),
        "alertmanager": " ".join(
            [
                ALERTMANAGER_BIN,
                f"--config.file={m['alertmanager_yml']}",
                f"--storage.path={m['alertmanager_data']}",
                f"--web.listen-address=127.0.0.1:{int(ports['alertmanager'])}",
                # No gossip port (0.0.0.0:9094 by default): one Alertmanager.
                "--cluster.listen-address=",
            ]
        ),
    }


def _yaml(data) -> str:
    # Through JSON: Ansible's tagged strings become plain ones, which safe_dump represents.
    return require_yaml().safe_dump(json.loads(json.dumps(data)), sort_keys=False)


def _library_files(library: str, module_utils_dir: str | None) -> list[dict]:
    source = module_utils_dir or MODULE_UTILS_DIR
    entries = []
    for relative in monitoring.EXPORTER_LIBRARY:
        with open(os.path.join(source, relative), encoding="utf-8") as handle:
            content = handle.read()
        target = os.path.join(library, monitoring.LIBRARY_PACKAGE, relative)
        entries.append({"path": target, "content": content, "restarts": ["jupyterhub"]})
    return entries


def monitoring_files(model: dict, settings: dict, ports: dict, alertmanager_extra: dict | None = None) -> dict:
    """Entries for local_files: ``directories`` (path -> mode), ``files``; none with monitoring off.

    The exporter is the hub's child: its code restarts the hub. Prometheus
    and Alertmanager restart for their configuration.
    """
    if not monitoring.enabled(model):
        return {"directories": {}, "files": []}
    m = monitoring_paths(settings["prefix"])
    rules_file = service_files.read(f"monitoring/{monitoring.RULES_FILE}")
    rules = monitoring.render_rules(require_yaml().safe_load(rules_file), model)
    directories = {m["etc"]: "0755", m["dashboards"]: "0755", m["library"]: "0755"}
    # Every level of the library's package path (namespace packages: no __init__.py).
    path = m["library"]
    for part in [*monitoring.LIBRARY_PACKAGE.split("/"), "hub"]:
        path = os.path.join(path, part)
        directories[path] = "0755"
    files = [
        {
            "path": m["exporter"],
            "content": service_files.read(f"monitoring/{monitoring.EXPORTER_SCRIPT}"),
            "restarts": ["jupyterhub"],
        },
        *_library_files(m["library"], settings.get("module_utils_dir")),
        {"path": m["rules"], "content": _yaml(rules), "restarts": ["prometheus"]},
        {
            "path": m["prometheus_yml"],
            "content": _yaml(prometheus_config(model, settings, ports)),
            "restarts": ["prometheus"],
        },
        {
            "path": m["alertmanager_yml"],
            "content": _yaml(alertmanager_config(alertmanager_extra)),
            "restarts": ["alertmanager"],
        },
    ]
    for name in monitoring.DASHBOARDS:
        dashboard = json.loads(service_files.read(f"monitoring/dashboards/{name}"))
        files.append({"path": os.path.join(m["dashboards"], name), "content": json.dumps(dashboard, indent=2) + "\n"})
    return {"directories": directories, "files": files}


def monitoring_secret_files(model: dict, secrets: dict, settings: dict) -> list[dict]:
    """The 0600 file with Prometheus' hub token (prometheus.yml names it as credentials_file)."""
    if not monitoring.enabled(model):
        return []
    token = secrets[service_secret_name(monitoring.PROMETHEUS_SERVICE)]
    return [{"path": monitoring_paths(settings["prefix"])["hub_token"], "content": token, "restarts": ["prometheus"]}]


def prometheus_url(ports: dict) -> str:
    return f"http://{connect_host('127.0.0.1')}:{int(ports['prometheus'])}"
