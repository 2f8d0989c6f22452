"""Monitoring on the Kubernetes target: every inventory's objects against the Prometheus operator's CRD
schemas (@kubernetes-models/prometheus-operator, run by node), and the hub's values against the chart's.
"""

from __future__ import annotations

import json

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.model import monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import monitoring as k8s_monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from support import kubernetes_site as ks
from support import prometheus_operator
from support.kubernetes_site import render
from support.playbooks import ROOT

MONITORING = {"daskhub_monitoring_enabled": True, "daskhub_monitoring_kubernetes_labels": {"release": "kps"}}


@pytest.mark.skipif(bool(prometheus_operator.available()), reason=prometheus_operator.available())
@pytest.mark.parametrize("mode", ["daskhub", "composed"])
@pytest.mark.parametrize("inventory", ks.inventory_names())
def test_every_inventorys_monitoring_objects_validate_against_the_operators_schemas(inventory, mode):
    model, secrets, rendered = render(inventory, daskhub_chart_mode=mode, **MONITORING)
    objects = rendered["monitoring_objects"] + k8s_monitoring.token_secret(model, secrets)
    kinds = sorted(obj["kind"] for obj in objects)
    assert kinds == [
        "ConfigMap",
        "ConfigMap",
        "PodMonitor",
        "PrometheusRule",
        "Secret",
        "ServiceMonitor",
        "ServiceMonitor",
    ]
    assert prometheus_operator.validate(objects) == []
    # What the operator's selectors match on, and Grafana's sidecar.
    assert all(obj["metadata"]["labels"]["release"] == "kps" for obj in objects)
    # What uninstall deletes them by.
    selector = k8s_monitoring.selector_labels(model)
    assert all(selector.items() <= obj["metadata"]["labels"].items() for obj in objects)
    dashboards = [obj for obj in objects if obj["kind"] == "ConfigMap"]
    assert all(obj["metadata"]["labels"]["grafana_dashboard"] == "1" for obj in dashboards)
    for release in rendered["releases"]:
        assert chart_schema.validate_release(release, str(ks.CHART_DATA)) == []


def test_the_rule_file_and_the_dashboards_are_the_same_on_both_targets():
    model, _, rendered = render("example-site", **MONITORING)
    rule = next(obj for obj in rendered["monitoring_objects"] if obj["kind"] == "PrometheusRule")
    source = yaml.safe_load((ROOT / "plugins/files/monitoring" / monitoring.RULES_FILE).read_text())
    assert rule["spec"] == monitoring.render_rules(source, model)
    assert [g["name"] for g in rule["spec"]["groups"]] == ["daskhub-alerts", "daskhub-usage"]
    for name in monitoring.DASHBOARDS:
        configmap = next(obj for obj in rendered["monitoring_objects"] if name in obj.get("data", {}))
        assert json.loads(configmap["data"][name]) == json.loads(
            (ROOT / "plugins/files/monitoring/dashboards" / name).read_text()
        )


def test_the_hub_runs_the_exporter_with_the_projects_client_and_prometheus_gets_read_metrics_only():
    model, secrets, rendered = render("example-site", **MONITORING)
    hub = ks.hub_section(rendered)["hub"]
    exporter = hub["services"][monitoring.EXPORTER_SERVICE]
    assert exporter["command"][1] == f"{k8s_monitoring.EXPORTER_DIR}/{monitoring.EXPORTER_SCRIPT}"
    mounts = {entry["mountPath"] for entry in hub["extraFiles"].values()}
    for relative in monitoring.EXPORTER_LIBRARY:
        assert f"{k8s_monitoring.EXPORTER_DIR}/lib/{monitoring.LIBRARY_PACKAGE}/{relative}" in mounts
    roles = hub["loadRoles"]
    assert roles[monitoring.PROMETHEUS_SERVICE]["scopes"] == ["read:metrics"]
    assert roles[monitoring.PROMETHEUS_SERVICE]["services"] == [monitoring.PROMETHEUS_SERVICE]
    secret = k8s_monitoring.token_secret(model, secrets)[0]
    assert secret["stringData"]["token"] == secrets["service_prometheus_api_token"]
    assert secrets["service_prometheus_api_token"] not in json.dumps(rendered["monitoring_objects"])
