"""The Kubernetes configuration as deployed, booted on one host, in both chart modes.

The release role's values (site.yml, render only), templated by the real
chart, run in the hub image's own Python environment through the chart's own
jupyterhub_config.py, and the gateway ConfigMap's dask_gateway_config.py in
dask-gateway-server of the chart's version (support.chart_boot). Against
them runs what runs on the local target: user sync, the verify service and
verify's user path, and the revocation step of token rotation.

Each mode boots once per session (module scope, one xdist group); the
rotation test restarts it, as helm upgrade rolls the hub pod.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from support import chart_boot, chart_envs, charts
from support.browser import Browser
from support.playbooks import ROOT, recap, run_ansible, run_playbook
from support.site_models import EXAMPLE_VAULT

# One xdist worker boots each mode once (the boot's ports are fixed per mode).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chart_boot")]
# JupyterHub of each chart mode's hub image (../shared/chart-repos/README.md).
HUB_IMAGE_JUPYTERHUB = {"daskhub": "4.0.2", "composed": "5.5.0"}
REVOKE_SCRIPT = ROOT / "roles" / "daskhub_operations" / "files" / "revoke_stale_service_tokens.py"


def _unavailable() -> str | None:
    for tool in ("unshare", "nsenter", "mount"):
        if subprocess.run(["which", tool], capture_output=True, check=False).returncode:
            return f"{tool} (util-linux) is missing"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True, check=False)
    if probe.returncode:
        return f"unshare --mount is not permitted here (needs root): {probe.stderr.strip()}"
    try:
        for minor in set(chart_envs.HUB_IMAGE_PYTHON.values()) | set(chart_envs.GATEWAY_SERVER_PYTHON.values()):
            chart_envs.find_python(minor)
    except chart_envs.EnvUnavailable as err:
        return str(err)
    return None


@pytest.fixture(scope="module")
def chart_helm(tmp_path_factory):
    """helm with ../shared/chart-repos served over loopback, added by the prerequisites role."""
    reason = _unavailable()
    if reason:
        pytest.skip(f"the chart boot cannot run here: {reason}")
    try:
        with charts.ChartRepos() as repos:
            helm, result = charts.add_chart_repos(tmp_path_factory.mktemp("boot-repos"), repos, "composed")
            assert result.returncode == 0, result.stdout[-4000:]
            yield helm
    except charts.SharedMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture(scope="module", params=sorted(chart_boot.MODES))
def booted_site(request, chart_helm):
    with chart_boot.booted(request.param, chart_helm) as booted:
        yield booted


@pytest.fixture
def site(booted_site):
    """The booted mode as the inventory configures it. A test that rolls it out with other settings leaves
    them for the next test to roll back here, so that the mode's last test does not restart pods that stop next."""
    if booted_site.rolled_out_with:
        chart_boot.rollout(booted_site)
    return booted_site


def _admin_view(site, name):
    """A user as the user-sync service sees it (read:users)."""
    return site.api("GET", f"/users/{name}", site.store()["user_sync_api_token"])


def test_the_chart_config_runs_in_the_hub_image_jupyterhub(site):
    info = site.api("GET", "/", site.store()["user_sync_api_token"])
    assert info["version"] == HUB_IMAGE_JUPYTERHUB[site.mode]
    log = site.pods["hub"].log_tail(200_000)
    # The chart's loader read the templated Secret's values at the path the pod mounts it.
    assert "Loading /usr/local/etc/jupyterhub/secret/values.yaml" in log
    assert site.status("GET", "/services", site.store()["user_sync_api_token"]) == 200
    # The hub proxies /services/dask-gateway to the gateway (the templated service URL).
    with urllib.request.urlopen(f"{site.public_url}/services/dask-gateway/api/health", timeout=60) as answer:
        assert json.loads(answer.read())["status"] == "pass"


def test_user_sync_play_against_the_booted_hub(site):
    verify_user = hub_model.verify_user(site.model)
    settings = {
        "daskhub_state_dir": str(site.state),
        "daskhub_target": "kubernetes",
        "daskhub_chart_mode": site.mode,
        "daskhub_user_sync_api_url": site.hub_api,
        **EXAMPLE_VAULT,
    }
    inventory = str(ROOT / "inventories" / site.inventory)
    first = run_playbook("playbooks/user-sync.yml", "-i", inventory, "-e", json.dumps(settings))
    assert first.returncode == 0, first.stdout[-4000:]
    users = {name: None for name in site.model.get("users") or []}
    for name in [*users, *(site.model.get("admin_users") or [])]:
        assert _admin_view(site, name)["name"] == name
    for name in site.model.get("admin_users") or []:
        assert _admin_view(site, name)["admin"] is True
    # The dedicated verify user is no source's user and still there, not an admin.
    assert _admin_view(site, verify_user)["admin"] is False
    second = run_playbook("playbooks/user-sync.yml", "-i", inventory, "-e", json.dumps(settings))
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second.stdout)["changed"] == 0


def test_verify_service_is_limited_to_one_non_admin_users_server(site):
    token = site.store()[model_secrets.service_secret_name(hub_model.VERIFY_SERVICE)]
    user = hub_model.verify_user(site.model)
    assert _admin_view(site, user)["admin"] is False
    assert site.api("GET", f"/users/{user}", token)["name"] == user
    for other in [*(site.model.get("admin_users") or []), *(site.model.get("users") or [])]:
        # 404: JupyterHub does not even confirm that a user it hides exists.
        assert site.status("POST", f"/users/{other}/server", token) in (403, 404)
    for owner in [user, *(site.model.get("admin_users") or [])]:
        assert site.status("POST", f"/users/{owner}/tokens", token, {"expires_in": 300}) in (403, 404)


def test_verify_user_path_on_the_booted_site(site):
    """daskhub_verify as verify.yml runs it: the site's snippets in a kernel of the verify user's own server."""
    user_env = chart_envs.singleuser_env()
    gateway = site.model["gateway"]
    args = {
        "hub_url": site.public_url,
        "hub_token": site.store()[model_secrets.service_secret_name(hub_model.VERIFY_SERVICE)],
        "user": hub_model.verify_user(site.model),
        "worker_cores": gateway["worker_cores"]["default"],
        "worker_memory": gateway["worker_memory"]["default"],
        "worker_cores_max": gateway["worker_cores"]["max"],
        "image": quantities.worker_image(site.model),
        "target": "kubernetes",
        "timeout": 240,
    }
    result = run_ansible(
        "localhost",
        "-m",
        "daskhub.deploy.daskhub_verify",
        "-a",
        json.dumps(args),
        "-e",
        f"ansible_python_interpreter={user_env / 'bin' / 'python'}",
        timeout=900,
    )
    logs = site.pods["hub"].log_tail() + site.pods["gateway"].log_tail()
    assert args["hub_token"] not in result.stdout + result.stderr
    # The user's path itself: a cluster from the notebook computed, the dashboard answered.
    for step in ("step: compute", "step: dashboard", "step: 'Dask panel: +NEW'", "step: reject an image without a tag"):
        assert step in result.stdout, result.stdout[-6000:] + logs
    assert result.returncode == 0, result.stdout[-6000:] + logs


def test_rotation_revokes_the_replaced_service_token_in_the_hub_pod(site):
    """The revocation step of rotate-secrets.yml, run in the hub pod as k8s_exec runs it."""
    old = site.store()["user_sync_api_token"]
    chart_boot.rollout(site, daskhub_secrets_rotate=["user_sync_api_token"])
    new = site.store()["user_sync_api_token"]
    assert new != old
    assert chart_boot.new_hub_token(site, hub_model.USER_SYNC_SERVICE) == new
    # JupyterHub keeps the replaced config token valid: the fault the step exists for.
    assert site.status("GET", "/users", old) == 200
    done = site.pods["hub"].exec(["python3", "-c", REVOKE_SCRIPT.read_text(), "--z2jh"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["revoked"][hub_model.USER_SYNC_SERVICE] == 1
    assert old not in done.stdout + done.stderr
    assert site.status("GET", "/users", old) == 403
    assert site.status("GET", "/users", new) == 200
    again = site.pods["hub"].exec(["python3", "-c", REVOKE_SCRIPT.read_text(), "--z2jh"])
    assert json.loads(again.stdout)["revoked"][hub_model.USER_SYNC_SERVICE] == 0


def test_the_templated_values_are_the_release_roles(site):
    """The boot runs the files the release role passes to helm, not a copy."""
    hub_release = next(r for r in site.releases["releases"] if r["key"] in ("daskhub", "jupyterhub"))
    assert Path(hub_release["values_file"]).parent.is_relative_to(site.state / "build")
    values = yaml.safe_load(Path(hub_release["values_file"]).read_text())
    hub_values = values.get("jupyterhub", values)
    secret_values = yaml.safe_load(site.manifests.secret_data("hub")["values.yaml"])
    assert secret_values["hub"]["loadRoles"] == hub_values["hub"]["loadRoles"]


# Logins through the session's OIDC provider on loopback (support.stacks, oidc_provider):
# who is in which of its groups, and what the site lets each group do.
IDP_USERS = {"dora": ["physics"], "eve": ["students"], "frank": ["hub-admins"]}
IDP_SITE = {
    "daskhub_allow_all_users": False,
    "daskhub_oauth_groups_claim": "groups",
    "daskhub_oauth_allowed_groups": ["physics"],
    "daskhub_oauth_admin_groups": ["hub-admins"],
    # A profile for physics only: the hub runs plugins/files/hub/daskhub_profiles.py as an extraConfig entry.
    "daskhub_singleuser_profiles": [
        {"display_name": "Small", "default": True},
        {"display_name": "GPU", "groups": ["physics"]},
    ],
}


def test_logins_through_the_identity_provider_and_its_groups_in_the_hub_image(site, oidc_provider):
    """generic-oauth with the provider's groups, in the hub image's own oauthenticator (16.2.1 or 17.4.0).

    Last of the module: it rolls the site out with the provider's settings, which the ``site`` fixture rolls
    back only if another test of the mode follows.
    """
    for user, groups in IDP_USERS.items():
        oidc_provider.register(user, preferred_username=user, groups=groups)
    variables = {
        **oidc_provider.site_variables(site.public_url),
        "daskhub_hub_public_url": site.public_url,
        **IDP_SITE,
    }
    chart_boot.rollout(site, **variables)
    config = yaml.safe_load(site.manifests.secret_data("hub")["values.yaml"])["hub"]["config"]
    oauth = config["GenericOAuthenticator"]
    oauthenticator = hub_model.oauthenticator_major(site.hub_version)
    if oauthenticator >= 17:
        assert (oauth["manage_groups"], oauth["auth_state_groups_key"]) == (True, "oauth_user.groups")
    else:
        assert oauth["claim_groups_key"] == "groups" and "manage_groups" not in oauth
    # The chart's config ran the per-group profiles' entry in the hub image's Python, and the hub is up.
    assert "Loading extra config: daskhub-profiles" in site.pods["hub"].log_tail(200_000)
    with pytest.raises(urllib.error.HTTPError) as refused:
        Browser(site.public_url).login_oidc("eve", next_path="/hub/home")
    assert refused.value.code == 403
    assert Browser(site.public_url).login_oidc("dora", next_path="/hub/home") == f"{site.public_url}/hub/home"
    assert Browser(site.public_url).login_oidc("frank", next_path="/hub/home") == f"{site.public_url}/hub/home"
    dora, frank = _admin_view(site, "dora"), _admin_view(site, "frank")
    assert (dora["admin"], frank["admin"]) == (False, True)
    # 17 makes the provider's groups the hub's; 16.2.1 decides login and admin only.
    expected = (["physics"], ["hub-admins"]) if oauthenticator >= 17 else ([], [])
    assert (dora["groups"], frank["groups"]) == expected
