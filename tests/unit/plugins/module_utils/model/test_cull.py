"""Idle culling from the daskhub_cull_* keys: the model's checks, the chart's cull values, the local hub's service."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.model import cull as cull_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import documents as local_documents
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import paths as local_paths
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation
from support import kubernetes_site as ks
from support import service_files
from support.site_models import build_model, local_settings
from traitlets.config import Config

SHORT = {"daskhub_cull_timeout": 30, "daskhub_cull_every": 5}
CHART_KEYS = {"enabled", "users", "adminUsers", "removeNamedServers", "timeout", "every", "concurrency", "maxAge"}


@pytest.mark.parametrize("chart", ["jupyterhub-3.2.1", "jupyterhub-4.4.0"])
def test_the_defaults_are_z2jhs(chart):
    """Both jupyterhub charts (the umbrella's and composed's) cull with these defaults; ours are the same."""
    chart_defaults = yaml.safe_load((ks.CHART_DATA / chart / "values.yaml").read_text())["cull"]
    assert cull_model.chart_values(build_model()) == chart_defaults
    assert set(chart_defaults) == CHART_KEYS


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"daskhub_cull_timeout": 0}, "daskhub_cull_timeout: must be a whole number of seconds >= 1, got 0"),
        ({"daskhub_cull_every": -5}, "daskhub_cull_every: must be a whole number of seconds >= 1, got -5"),
        ({"daskhub_cull_every": 2.5}, "daskhub_cull_every: must be a whole number of seconds >= 1, got 2.5"),
        ({"daskhub_cull_max_age": -1}, "daskhub_cull_max_age: must be a whole number of seconds >= 0, got -1"),
        ({"daskhub_cull_concurrency": "many"}, "daskhub_cull_concurrency: must be a whole number >= 1, got 'many'"),
        (
            {"daskhub_cull_timeout": 60, "daskhub_cull_every": 600},
            "daskhub_cull_every: 600 is more than daskhub_cull_timeout (60)",
        ),
    ],
)
def test_bad_settings_are_named(overrides, expected):
    errors = model_validation.validate(build_model(**overrides))
    assert any(expected in error for error in errors), errors


def test_good_settings_pass_even_as_strings_from_extra_vars():
    # -e daskhub_cull_timeout=30 arrives as a string.
    model = build_model(daskhub_cull_timeout="30", daskhub_cull_every="5", daskhub_cull_max_age="0")
    assert model_validation.validate(model) == []
    assert cull_model.settings(model)["timeout"] == 30


def test_the_culler_is_a_reserved_service_name():
    errors = model_validation.validate(build_model(daskhub_hub_extra_services={cull_model.CULLER_SERVICE: {}}))
    assert any("'jupyterhub-idle-culler' is defined by the project already" in error for error in errors)


@pytest.mark.parametrize("mode", ["daskhub", "composed"])
def test_the_charts_cull_values_follow_the_model_and_its_schema(mode):
    overrides = {**SHORT, "daskhub_cull_users": True, "daskhub_cull_admin_users": False, "daskhub_cull_max_age": 86400}
    _, _, rendered = ks.render("example-site", daskhub_chart_mode=mode, **overrides)
    assert ks.hub_section(rendered)["cull"] == {
        "enabled": True,
        "users": True,
        "adminUsers": False,
        "removeNamedServers": False,
        "timeout": 30,
        "every": 5,
        "concurrency": 10,
        "maxAge": 86400,
    }
    for release in rendered["releases"]:
        assert chart_schema.validate_release(release, str(ks.CHART_DATA)) == []
    # The chart defines its culler's service: no token of ours, no service of ours named so.
    secret_services = ks.hub_section(rendered, "secrets")["hub"]["services"]
    assert cull_model.CULLER_SERVICE not in secret_services
    assert cull_model.CULLER_SERVICE not in ks.hub_section(rendered)["hub"]["services"]


def test_culling_off_is_rendered_off_for_the_chart():
    _, _, rendered = ks.render("example-site", daskhub_cull_enabled=False)
    assert ks.hub_section(rendered)["cull"]["enabled"] is False


def _local(tmp_path, **overrides):
    model = build_model(**overrides)
    return model, local_documents.hub_document(model, local_settings(tmp_path, hub_api_port=8181))


def test_the_local_hub_runs_the_culler_with_the_narrowest_role(tmp_path):
    _, document = _local(tmp_path, **SHORT)
    services = {service["name"]: service for service in document["services"]}
    culler = services[cull_model.CULLER_SERVICE]
    paths = local_paths.paths(str(tmp_path))
    python = paths["python"]
    assert culler["command"] == [
        # The guard that ends the service with its hub (roles/daskhub_local/files/daskhub_service_guard.py).
        python,
        paths["service_guard_py"],
        python,
        "-m",
        "jupyterhub_idle_culler",
        "--url=http://127.0.0.1:8181/hub/api",
        "--timeout=30",
        "--cull-every=5",
        "--concurrency=10",
    ]
    assert "api_token" not in culler
    roles = {role["name"]: role for role in document["config"]["JupyterHub"]["load_roles"]}
    assert roles[cull_model.CULLER_SERVICE] == {
        "name": cull_model.CULLER_SERVICE,
        "description": "Stop idle notebook servers (jupyterhub-idle-culler)",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": [cull_model.CULLER_SERVICE],
    }


def test_culling_users_adds_admin_users_and_the_flags(tmp_path):
    _, document = _local(
        tmp_path,
        daskhub_cull_users=True,
        daskhub_cull_admin_users=False,
        daskhub_cull_remove_named_servers=True,
        daskhub_cull_max_age=7200,
    )
    culler = next(s for s in document["services"] if s["name"] == cull_model.CULLER_SERVICE)
    assert culler["command"][-4:] == [
        "--cull-users",
        "--cull-admin-users=false",
        "--remove-named-servers",
        "--max-age=7200",
    ]
    role = next(r for r in document["config"]["JupyterHub"]["load_roles"] if r["name"] == cull_model.CULLER_SERVICE)
    assert role["scopes"][-1] == "admin:users"


def test_no_culler_when_culling_is_off(tmp_path):
    model, document = _local(tmp_path, daskhub_cull_enabled=False)
    assert cull_model.CULLER_SERVICE not in [s["name"] for s in document["services"]]
    assert cull_model.CULLER_SERVICE not in [r["name"] for r in document["config"]["JupyterHub"]["load_roles"]]
    assert cull_model.CULLER_SERVICE not in model_secrets.service_token_secrets(model)


def test_the_local_hub_hands_the_culler_the_stores_token(tmp_path, monkeypatch):
    """jupyterhub_config.py gives the managed service its api_token; the hub passes it as JUPYTERHUB_API_TOKEN."""
    model = build_model(**SHORT)
    secrets = ks.secrets(model)
    chosen = local_settings(tmp_path)
    paths = local_paths.paths(str(tmp_path))
    Path(paths["etc"]).mkdir(parents=True)
    Path(paths["hub_settings_json"]).write_text(json.dumps(local_documents.hub_document(model, chosen)))
    Path(paths["hub_secrets_json"]).write_text(json.dumps(local_documents.hub_secret_document(model, secrets, chosen)))
    Path(paths["hub_config_py"]).write_text((service_files.LOCAL / "jupyterhub_config.py").read_text())
    monkeypatch.setattr(sys, "path", list(sys.path))
    config = Config()
    service_files.run_config(Path(paths["hub_config_py"]), config)
    services = {service["name"]: service for service in config.JupyterHub.services}
    culler = services[cull_model.CULLER_SERVICE]
    assert culler["api_token"] == secrets["service_jupyterhub_idle_culler_api_token"]
    guard = [paths["python"], paths["service_guard_py"]]
    assert culler["command"][:5] == [*guard, paths["python"], "-m", "jupyterhub_idle_culler"]
    # The settings file, readable by the hub's account, holds no token.
    assert secrets["service_jupyterhub_idle_culler_api_token"] not in Path(paths["hub_settings_json"]).read_text()
