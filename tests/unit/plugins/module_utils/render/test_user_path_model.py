"""The pieces of the user's path both targets render: server token scopes, notebook environment, usage."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.verify import version_mismatches
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import operations
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import documents as local_documents
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import usage as local_usage
from support.site_models import build_model, local_settings
from support.versions import GATEWAY_VERSION

GATEWAY_SCOPE = "access:services!service=dask-gateway"
LOCAL_SETTINGS = local_settings()


@pytest.mark.parametrize(("gateway_version", "needs_scope"), [(GATEWAY_VERSION, True), ("2024.1.0", False)])
def test_the_server_token_reaches_a_scoped_gateway_and_nothing_more(gateway_version, needs_scope):
    scopes = hub_model.server_token_scopes(gateway_version)
    # What jupyterhub-singleuser itself needs (JupyterHub's own server role) ...
    assert "access:servers!server" in scopes
    assert "users:activity!user" in scopes
    # ... plus the gateway exactly when the gateway checks it.
    assert (GATEWAY_SCOPE in scopes) is needs_scope
    assert len(scopes) == 2 + needs_scope
    # Users hold what their servers' tokens ask for (JupyterHub grants only that).
    user_role = {role["name"]: role for role in hub_model.hub_roles(build_model(), gateway_version)}.get("user")
    assert (user_role is not None and GATEWAY_SCOPE in user_role["scopes"]) is needs_scope


def test_both_targets_ask_for_the_same_server_token_scopes():
    model = build_model(daskhub_chart_mode="composed")
    local = local_documents.hub_document(model, LOCAL_SETTINGS)["config"]["Spawner"]["server_token_scopes"]
    values = helm_values.render(model, _secrets(model))["releases"]
    hub_values = next(release for release in values if release["chart"].endswith("jupyterhub"))["values"]
    kubernetes = hub_values["hub"]["config"]["Spawner"]["server_token_scopes"]
    assert local == kubernetes
    assert GATEWAY_SCOPE in local


def _secrets(model):
    return {name: f"{name}-value" for name in model_secrets.secret_names(model)} | {"oauth_client_secret": "x"}


def test_the_dask_panel_makes_gateway_clusters_on_both_targets():
    model = build_model(daskhub_chart_mode="composed")
    local = local_documents.hub_document(model, LOCAL_SETTINGS)["config"]["Spawner"]["environment"]
    values = helm_values.render(model, _secrets(model))["releases"]
    hub_values = next(release for release in values if release["chart"].endswith("jupyterhub"))["values"]
    kubernetes = hub_values["singleuser"]["extraEnv"]
    for environment in (local, kubernetes):
        assert environment["DASK_LABEXTENSION__FACTORY__MODULE"] == "dask_gateway"
        assert environment["DASK_LABEXTENSION__FACTORY__CLASS"] == "GatewayCluster"


def test_kubernetes_workers_follow_the_notebook_image_unless_the_site_names_one():
    default = hub_model.notebook_environment(build_model(), image_from_notebook=True)
    assert default["DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE"] == "{JUPYTER_IMAGE_SPEC}"
    named = build_model(daskhub_gateway_worker_image="registry.example.org/analysis:1.2")
    assert "DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE" not in hub_model.notebook_environment(named, True)
    # The local target has no images: workers run in the notebooks' venv.
    assert "DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE" not in hub_model.notebook_environment(build_model(), False)


def test_daskhub_mode_gets_the_panel_and_the_image_on_top_of_the_umbrella_chart():
    model = build_model(daskhub_chart_mode="daskhub")
    values = helm_values.render(model, _secrets(model))["releases"][0]["values"]
    environment = values["jupyterhub"]["singleuser"]["extraEnv"]
    assert environment["DASK_LABEXTENSION__FACTORY__CLASS"] == "GatewayCluster"
    assert environment["DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE"] == "{JUPYTER_IMAGE_SPEC}"
    # The umbrella chart's own hub extraConfig sets the gateway addresses.
    assert "DASK_GATEWAY__ADDRESS" not in environment


def test_local_users_work_survives_restarts_of_the_hub_and_the_gateway():
    model = build_model()
    assert local_documents.hub_document(model, LOCAL_SETTINGS)["config"]["JupyterHub"]["cleanup_servers"] is False
    gateway = local_documents.gateway_document(model, LOCAL_SETTINGS)["config"]
    assert gateway["LocalBackend"]["stop_clusters_on_shutdown"] is False


def test_local_workers_listen_on_loopback_only():
    cluster = local_documents.gateway_document(build_model(), LOCAL_SETTINGS)["config"]["ClusterConfig"]
    command = cluster["worker_cmd"]
    assert command[command.index("--host") + 1] == "127.0.0.1"


def test_the_closing_message_tells_a_normal_user_how_to_log_in_and_get_a_token():
    model = build_model(daskhub_users=["alice", "bob"], daskhub_admin_users=["admin"])
    lines = local_usage.usage_lines(model, LOCAL_SETTINGS, "/srv/site/state/secrets.yml")
    text = "\n".join(lines)
    assert "Log in at http://127.0.0.1:8000/hub/login as any allowed user (admin, alice, bob)" in text
    assert "key dummy_password in /srv/site/state/secrets.yml" in text
    assert "http://127.0.0.1:8000/hub/token" in text
    assert lines[-1] == f"Check the whole user path: {local_usage.VERIFY_COMMAND}"
    assert local_usage.VERIFY_COMMAND.startswith(".venv/bin/")  # as typed from the repository
    other = local_usage.usage_lines(model, LOCAL_SETTINGS, "/x", " -i inventories/lab")
    assert other[-1].endswith("playbooks/verify.yml -i inventories/lab")
    assert "Isolation: NONE" in text
    isolated = local_usage.usage_lines(model, dict(LOCAL_SETTINGS, system_users=True, run_as_root=True), "/x")
    assert any(line.startswith("Isolation: each hub user is a system account") for line in isolated)


def test_version_mismatches_name_the_package_and_every_place():
    same = {"dask": "2026.8.0", "distributed": "2026.8.0", "dask_gateway": "2026.3.0"}
    assert version_mismatches({"notebook": same, "scheduler": same, "workers": {"tls://w1": same}}) == []
    older = dict(same, distributed="2026.1.0")
    problems = version_mismatches({"notebook": same, "scheduler": same, "workers": {"tls://w1": older}})
    assert problems == ["distributed: notebook 2026.8.0, scheduler 2026.8.0, worker tls://w1 2026.1.0"]


def test_a_rotation_says_what_it_does_to_users_sessions():
    lines = operations.rotation_impact("cookie_secret,user_sync_api_token")
    assert lines[0].startswith("cookie_secret: ENDS every user's hub login")
    assert lines[1] == "user_sync_api_token: restarts the hub: no user session ends"
    kept = operations.rotation_impact(["dask_gateway_api_token", "proxy_secret_token"])
    assert not any("ENDS" in line for line in kept)
    assert "running clusters are kept" in kept[0]
