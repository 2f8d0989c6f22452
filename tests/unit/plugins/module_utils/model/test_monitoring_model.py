"""The monitoring's part of the site model (model/monitoring.py): services, roles, secrets, checks, rules."""

from __future__ import annotations

import json

import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import documents as local_documents
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.model import validate
from support.playbooks import ROOT
from support.site_models import build_model, local_settings
from support.versions import GATEWAY_VERSION

RULES = yaml.safe_load((ROOT / "plugins/files/monitoring" / monitoring.RULES_FILE).read_text())


def test_off_by_default_adds_no_service_role_or_secret():
    model = build_model()
    assert model["monitoring"]["enabled"] is False
    assert not {monitoring.PROMETHEUS_SERVICE, monitoring.EXPORTER_SERVICE} & set(hub_model.hub_services(model, None))
    assert not [r for r in hub_model.hub_roles(model, GATEWAY_VERSION) if r["name"] == monitoring.PROMETHEUS_SERVICE]
    assert "service_prometheus_api_token" not in model_secrets.secret_names(model)


def test_prometheus_gets_exactly_read_metrics_and_both_services_a_token_in_the_store():
    model = build_model(daskhub_monitoring_enabled=True)
    roles = {role["name"]: role for role in hub_model.hub_roles(model, GATEWAY_VERSION)}
    assert roles[monitoring.PROMETHEUS_SERVICE]["scopes"] == ["read:metrics"]
    assert roles[monitoring.PROMETHEUS_SERVICE]["services"] == [monitoring.PROMETHEUS_SERVICE]
    assert roles[monitoring.EXPORTER_SERVICE]["scopes"] == monitoring.EXPORTER_SCOPES
    names = model_secrets.secret_names(model)
    assert "service_prometheus_api_token" in names
    assert "service_daskhub_gateway_exporter_api_token" in names


def test_the_local_hub_starts_the_exporter_with_its_settings_as_json():
    model = build_model(daskhub_monitoring_enabled=True, daskhub_monitoring_exporter_port=9555)
    settings = local_settings()
    services = {s["name"]: s for s in local_documents.hub_document(model, settings)["services"]}
    exporter = services[monitoring.EXPORTER_SERVICE]
    # [python, the service guard, python, the exporter]: the guard ends it with the hub.
    assert exporter["command"][1].endswith("/etc/daskhub_service_guard.py")
    assert exporter["command"][3].endswith(f"/etc/monitoring/{monitoring.EXPORTER_SCRIPT}")
    config = json.loads(exporter["environment"]["DASKHUB_EXPORTER_SETTINGS"])
    assert config["port"] == 9555
    assert config["bind"] == "127.0.0.1"
    assert config["gateway_url"].endswith("/services/dask-gateway")
    assert services[monitoring.PROMETHEUS_SERVICE] == {"name": monitoring.PROMETHEUS_SERVICE, "display": False}


def test_bad_durations_and_ratio_are_named_by_their_variables():
    errors = validate(
        build_model(
            daskhub_monitoring_enabled=True,
            daskhub_monitoring_alert_for="5 minutes",
            daskhub_monitoring_max_cluster_age="1d2",
            daskhub_monitoring_disk_free_ratio=1.5,
        )
    )
    assert any(e.startswith("daskhub_monitoring_alert_for: not a Prometheus duration") for e in errors), errors
    assert any(e.startswith("daskhub_monitoring_max_cluster_age: not a Prometheus duration") for e in errors), errors
    assert any(e.startswith("daskhub_monitoring_disk_free_ratio: must be a number between 0 and 1") for e in errors)


def test_the_rules_take_the_sites_values_and_keep_prometheus_own_templates():
    model = build_model(
        daskhub_monitoring_enabled=True, daskhub_monitoring_max_cluster_age="8h", daskhub_monitoring_alert_for="2m"
    )
    rules = {
        rule.get("alert") or rule["record"]: rule
        for g in monitoring.render_rules(RULES, model)["groups"]
        for rule in g["rules"]
    }
    assert rules["DaskClusterTooOld"]["expr"] == "daskhub_gateway_cluster_age_seconds > 28800"
    assert {rule.get("for") for rule in rules.values() if "alert" in rule} == {"2m"}
    assert "{{ $labels.cluster }}" in rules["DaskClusterTooOld"]["annotations"]["description"]
    assert "${" not in json.dumps(rules)
    assert {
        "DaskHubHubDown",
        "DaskHubProxyDown",
        "DaskHubGatewayDown",
        "DaskHubSpawnFailures",
        "DaskHubDiskFilling",
    } <= set(rules)
