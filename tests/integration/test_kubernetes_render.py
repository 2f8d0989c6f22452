"""site.yml's Kubernetes path, run for real up to the cluster boundary.

prepare.yml and kubernetes.yml run with daskhub_kubernetes_render_only: the
model is validated, the secrets store made, and the Helm values and secrets
files rendered and validated against the chart schemas. Everything after
that needs a cluster and runs in the molecule/kind scenario.
"""

from __future__ import annotations

import json

import pytest
import yaml
from support.kubeconfig import unreachable_kubeconfig
from support.playbooks import ROOT, recap, run_playbook
from support.site_models import EXAMPLE_VAULT

PLAYBOOKS = [str(ROOT / "playbooks" / "prepare.yml"), str(ROOT / "playbooks" / "kubernetes.yml")]
OAUTH_SECRET = EXAMPLE_VAULT["vault_daskhub_oauth_client_secret"]


def play(inventory, state, *args, **variables):
    settings = {
        "daskhub_state_dir": str(state),
        "daskhub_kubernetes_render_only": True,
        **EXAMPLE_VAULT,
        **variables,
    }
    return run_playbook(*PLAYBOOKS, "-i", str(ROOT / "inventories" / inventory), "-e", json.dumps(settings), *args)


def mode(path):
    return oct(path.stat().st_mode & 0o777)


def test_example_site_renders_without_leaking_a_secret(tmp_path):
    state = tmp_path / "state"
    first = play("example-site", state, "-vvv", "--diff")
    output = first.stdout + first.stderr
    assert first.returncode == 0, first.stdout[-5000:]
    build = state / "build"
    values_file, secrets_file = build / "values.yaml", build / "secrets.yaml"
    assert mode(secrets_file) == "0o600"
    assert mode(values_file) == "0o644"
    assert mode(build) == "0o700"
    store = yaml.safe_load((state / "secrets.yml").read_text())
    secrets = {**store, "oauth_client_secret": OAUTH_SECRET}
    values_text = values_file.read_text()
    rendered = yaml.safe_load(secrets_file.read_text())
    for name, value in secrets.items():
        assert value not in values_text, f"{name} in values.yaml"
        assert value not in output, f"{name} printed at -vvv"
    # Every secret reached the secrets file, and the gateway token is wired in both places.
    hub = rendered["jupyterhub"]
    assert hub["proxy"]["secretToken"] == store["proxy_secret_token"]
    assert hub["hub"]["cookieSecret"] == store["cookie_secret"]
    assert hub["hub"]["services"]["user-sync"]["apiToken"] == store["user_sync_api_token"]
    assert hub["hub"]["config"]["GenericOAuthenticator"]["client_secret"] == OAUTH_SECRET
    gateway_token = rendered["dask-gateway"]["gateway"]["auth"]["jupyterhub"]["apiToken"]
    assert gateway_token == hub["hub"]["services"]["dask-gateway"]["apiToken"] == store["dask_gateway_api_token"]
    # --diff shows the values and only names the secrets file.
    assert "(secret content changed, not shown)" in output
    assert "+    startTimeout: 900" in output

    second = play("example-site", state, "--diff")
    assert second.returncode == 0, second.stdout[-5000:]
    assert recap(second.stdout)["changed"] == 0
    assert yaml.safe_load(secrets_file.read_text()) == rendered
    assert values_file.read_text() == values_text


def test_composed_mode_writes_one_pair_of_files_per_release(tmp_path):
    state = tmp_path / "state"
    result = play("local", state, daskhub_target="kubernetes", daskhub_chart_mode="composed")
    assert result.returncode == 0, result.stdout[-5000:]
    hub = yaml.safe_load((state / "build" / "jupyterhub" / "values.yaml").read_text())
    gateway = yaml.safe_load((state / "build" / "dask-gateway" / "values.yaml").read_text())
    hub_secrets = yaml.safe_load((state / "build" / "jupyterhub" / "secrets.yaml").read_text())
    gateway_secrets = yaml.safe_load((state / "build" / "dask-gateway" / "secrets.yaml").read_text())
    assert hub["hub"]["services"]["dask-gateway"]["url"] == "http://traefik-dhub-dask-gateway.daskhub"
    assert gateway["gateway"]["auth"]["jupyterhub"]["jupyterhubServiceName"] == "dask-gateway"
    assert (
        gateway_secrets["gateway"]["auth"]["jupyterhub"]["apiToken"]
        == hub_secrets["hub"]["services"]["dask-gateway"]["apiToken"]
    )
    assert hub_secrets["hub"]["config"]["DummyAuthenticator"]["password"]
    for folder in ("jupyterhub", "dask-gateway"):
        assert mode(state / "build" / folder / "secrets.yaml") == "0o600"


def test_check_mode_writes_nothing(tmp_path):
    state = tmp_path / "state"
    result = play("example-site", state, "--check", "--diff")
    assert result.returncode == 0, result.stdout[-5000:]
    assert not (state / "build" / "values.yaml").exists()
    assert "(secret content changed, not shown)" in result.stdout


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"daskhub_extra_values": {"jupyterhub": {"hub": {"notAKey": 1}}}},
            "jupyterhub.hub.notAKey: unknown key",
        ),
        (
            {"daskhub_gateway_worker_image": "pangeo/pangeo-notebook"},
            "When specifying an image you must also provide a tag",
        ),
    ],
)
def test_bad_input_fails_before_anything_is_written(tmp_path, variables, message):
    state = tmp_path / "state"
    result = play("example-site", state, **variables)
    assert result.returncode != 0
    assert message in result.stdout
    assert not (state / "build" / "values.yaml").exists()


def test_an_unreachable_cluster_stops_before_helm_without_printing_secrets(tmp_path):
    """Past the render-only switch the run needs the cluster: first the in-cluster Secret."""
    from support import k8s_tools  # noqa: PLC0415 - fetches helm and kubectl only for this test

    tools = k8s_tools.tools()  # the pinned versions: the prerequisites role downloads nothing
    kubeconfig = unreachable_kubeconfig(tmp_path / "kubeconfig", ["site"], "site")
    state = tmp_path / "state"
    result = play(
        "example-site",
        state,
        "-vvv",
        daskhub_kubernetes_render_only=False,
        daskhub_kubernetes_bin_dir=str(tools["helm"].parent),
        daskhub_kubernetes_manage_chart_repos=False,
        daskhub_kubernetes_kubeconfig=str(kubeconfig),
        daskhub_kubernetes_context="site",
    )
    assert result.returncode != 0
    assert "Could not read Secret daskhub-deploy-secrets in namespace daskhub" in result.stdout
    assert "Connection refused" in result.stdout
    assert not (state / "build").exists()
    store = yaml.safe_load((state / "secrets.yml").read_text())
    for name, value in {**store, "oauth_client_secret": OAUTH_SECRET}.items():
        assert value not in result.stdout + result.stderr, name
