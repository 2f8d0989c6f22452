"""Helm values of the Kubernetes target: rendering, token wiring, security defaults, extra values.

The checks (validation errors, coalescing, YAML, filters) are in test_helm_values_checks.py.
"""

from __future__ import annotations

import filecmp
import shutil

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils import yaml_io
from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import releases as helm_releases
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from dask_gateway_server.models import User
from support import charts, service_files
from support import kubernetes_site as ks
from support.kubernetes_site import by_key, gateway_section, hub_section, render
from support.versions import GATEWAY_VERSION, JUPYTERHUB_CHART_VERSION
from traitlets.config import Config

MODES = ("daskhub", "composed")
# The shared chart data is always a parameter: without ../shared the
# "shared" cases fail (saying where it was looked for), never vanish.
CHART_DATA_DIRS = [pytest.param("shipped", id="shipped"), pytest.param("shared", id="shared")]


# --- Every inventory, both chart modes, against the real schemas --------------


def shared_chart_data_dir():
    """../shared/chart-data beside the repository root; a test failure when it is missing."""
    try:
        return charts.shared_path("chart-data")
    except charts.SharedMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture(scope="module")
def shared_chart_data(tmp_path_factory):
    """../shared/chart-data plus the umbrella defaults it lacks (the daskhub chart has no schema)."""
    folder = tmp_path_factory.mktemp("chart-data")
    shutil.copytree(shared_chart_data_dir(), folder, dirs_exist_ok=True)
    for umbrella in ks.CHART_DATA.glob("daskhub-*"):
        shutil.copytree(umbrella, folder / umbrella.name)
    return folder


@pytest.mark.parametrize("chart_data", CHART_DATA_DIRS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("inventory", ks.inventory_names())
def test_every_inventory_validates_in_both_chart_modes(inventory, mode, chart_data, request):
    chart_data = request.getfixturevalue("shared_chart_data") if chart_data == "shared" else ks.CHART_DATA
    _, _, rendered = render(inventory, daskhub_chart_mode=mode)
    assert [r["chart"] for r in rendered["releases"]] == (
        ["dask/daskhub"] if mode == "daskhub" else ["jupyterhub/jupyterhub", "dask/dask-gateway"]
    )
    for release in rendered["releases"]:
        assert chart_schema.validate_release(release, str(chart_data)) == []


def test_shipped_chart_data_is_an_unchanged_copy_of_the_shared_data():
    compared = 0
    for folder in shared_chart_data_dir().iterdir():
        if folder.is_dir():
            for path in folder.iterdir():
                assert filecmp.cmp(path, ks.CHART_DATA / folder.name / path.name, shallow=False), path
                compared += 1
    assert compared >= 8


# --- The example site, key by key ---------------------------------------------


def test_example_site_key_by_key():
    model, secrets, rendered = render("example-site")
    assert [(r["name"], r["chart"], r["version"]) for r in rendered["releases"]] == [
        ("dhub", "dask/daskhub", "2024.1.1")
    ]
    hub = hub_section(rendered)
    gateway = gateway_section(rendered)

    # GenericOAuthenticator against the experiment's IAM.
    assert hub["hub"]["config"]["JupyterHub"]["authenticator_class"] == "generic-oauth"
    oauth = hub["hub"]["config"]["GenericOAuthenticator"]
    assert oauth["login_service"] == "ATLAS IAM"
    assert oauth["username_claim"] == "preferred_username"
    assert oauth["client_id"] == "daskhub-analysis-facility"
    assert "client_secret" not in oauth
    assert hub_section(rendered, "secrets")["hub"]["config"]["GenericOAuthenticator"] == {
        "client_secret": secrets["oauth_client_secret"]
    }
    # HTTPS with Let's Encrypt on a static proxy IP.
    assert hub["proxy"]["https"] == {
        "enabled": True,
        "type": "letsencrypt",
        "hosts": ["daskhub.hep-analysis.example.org"],
        "letsencrypt": {"contactEmail": "daskhub-admins@hep-analysis.example.org"},
    }
    assert hub["proxy"]["service"] == {"type": "LoadBalancer", "loadBalancerIP": "203.0.113.10"}
    # Single-user servers.
    singleuser = hub["singleuser"]
    assert singleuser["startTimeout"] == 900
    # The site's own variable, the Dask panel's factory and its server
    # extension's folder; the site names its worker image, so workers do not
    # follow the notebook's.
    assert singleuser["extraEnv"] == {
        "ATLAS_LOCAL_ROOT_BASE": "/cvmfs/atlas.cern.ch/repo/ATLASLocalRootBase",
        "DASK_LABEXTENSION__FACTORY__MODULE": "dask_gateway",
        "DASK_LABEXTENSION__FACTORY__CLASS": "GatewayCluster",
        "PYTHONPATH": "/etc/jupyter/daskhub-python",
    }
    assert singleuser["storage"]["extraVolumes"] == [{"name": "cvmfs", "hostPath": {"path": "/var/lib/cvmfs-k8s"}}]
    assert singleuser["storage"]["extraVolumeMounts"] == [
        {"name": "cvmfs", "mountPath": "/cvmfs", "readOnly": True, "mountPropagation": "HostToContainer"}
    ]
    profiles = {p["display_name"]: p for p in singleuser["profileList"]}
    assert len(profiles) == 5
    assert len({p["kubespawner_override"]["image"] for p in profiles.values()}) == 3
    assert [name for name, p in profiles.items() if p.get("default")] == ["Python analysis (CPU)"]
    gpu = [p for p in profiles.values() if "extra_resource_limits" in p["kubespawner_override"]]
    assert len(gpu) == 2
    for profile in gpu:
        assert profile["kubespawner_override"]["node_selector"] == {
            "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"
        }
        assert profile["kubespawner_override"]["extra_resource_limits"] == {"nvidia.com/gpu": 1}
    megamem = profiles["Megamem (1 TB memory)"]["kubespawner_override"]
    assert megamem["mem_guarantee"] == "1T"
    assert megamem["tolerations"] == [{"key": "megamem", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    # Network policies on (the model's default), with the way to the gateway's traefik.
    to_traefik = [
        {
            "podSelector": {
                "matchLabels": {
                    "gateway.dask.org/instance": "dhub-dask-gateway",
                    "app.kubernetes.io/component": "traefik",
                }
            }
        }
    ]
    assert hub["hub"]["networkPolicy"] == {"enabled": True}
    assert singleuser["networkPolicy"] == {
        "enabled": True,
        "egress": [
            {"to": to_traefik, "ports": [{"port": "web", "protocol": "TCP"}, {"port": "tcp", "protocol": "TCP"}]}
        ],
    }
    assert hub["proxy"]["chp"]["networkPolicy"] == {
        "enabled": True,
        "egress": [{"to": to_traefik, "ports": [{"port": "web", "protocol": "TCP"}]}],
    }
    # The gateway: a LoadBalancer limited to the institute's network.
    assert gateway["traefik"]["service"] == {
        "type": "LoadBalancer",
        "spec": {"loadBalancerSourceRanges": ["198.51.100.0/24"]},
    }
    # Source ranges limit the LoadBalancer; its plain-HTTP API is what is left to warn about.
    (warning,) = rendered["warnings"]
    assert "also serves the gateway's HTTP API without TLS" in warning
    backend = gateway["gateway"]["backend"]
    assert backend["scheduler"]["cores"] == {"request": 1, "limit": 1}
    assert backend["scheduler"]["memory"] == {"request": "32G", "limit": "100G"}
    assert backend["worker"]["extraPodConfig"] == {
        "tolerations": [{"key": "dask", "operator": "Equal", "value": "worker", "effect": "NoSchedule"}],
        "nodeSelector": {"dask": "worker"},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
    }
    # Neither a scheduler nor a worker ever runs as root, whatever the image says.
    assert backend["scheduler"]["extraPodConfig"] == {"securityContext": {"runAsNonRoot": True, "runAsUser": 1000}}
    assert backend["image"] == {"name": "pangeo/pangeo-notebook", "tag": "2024.01.15"}
    # The options handler is the shared file, verbatim, after the site's settings as data.
    extra = gateway["gateway"]["extraConfig"]
    assert list(extra) == [
        "00-daskhub-settings",
        "01-daskhub-config-traits",
        "02-daskhub-authenticator",
        "03-daskhub-options-handler",
    ]
    assert (
        extra["03-daskhub-options-handler"] == (service_files.SHARED / "gateway/daskhub_options_handler.py").read_text()
    )
    namespace = service_files.run_extra_config({"00-daskhub-settings": extra["00-daskhub-settings"]}, Config())
    options = namespace["DASKHUB_GATEWAY_SETTINGS"]["options"]
    assert options == gateway_model.gateway_options(model)
    assert options["worker_cores"] == {"default": 1, "min": 1, "max": 7}
    assert options["worker_memory"] == {"default": 4.0, "min": 1.0, "max": 27.0}
    assert options["gpus"] == {"default": 0, "min": 0, "max": 1, "resource": "nvidia.com/gpu"}
    assert options["image_tag_error"] == quantities.IMAGE_TAG_ERROR
    # daskhub 2024.1.1 runs dask-gateway 2024.1.0: no jupyterhubServiceName
    # (its schema forbids the key) and so no access scope to require.
    assert gateway["gateway"]["auth"] == {"type": "jupyterhub"}
    assert "user" not in hub["hub"]["loadRoles"]
    assert rendered["hub_url"] == "https://daskhub.hep-analysis.example.org"


def _run_extra_config(rendered, backend):
    """Run gateway.extraConfig as the chart runs it (sorted keys, one namespace), after its own backend_class."""
    config = Config()
    config.DaskGateway.backend_class = backend
    service_files.run_extra_config(gateway_section(rendered)["gateway"]["extraConfig"], config)
    return config


@pytest.mark.parametrize("target", ["kubernetes", "local"])
def test_the_example_sites_options_handler_offers_its_limits_on_both_targets(target):
    """The chart's options handler, run on the KubeBackend (and the same site's local target), behaves per the site."""
    if target == "kubernetes":
        _model, _, rendered = render("example-site")
        options = _run_extra_config(
            rendered, "dask_gateway_server.backends.kubernetes.KubeBackend"
        ).Backend.cluster_options(User("alice"))
    else:
        config = Config()
        config.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
        handler = service_files.import_file(service_files.SHARED / "gateway/daskhub_options_handler.py")
        local_model = ks.model("example-site", daskhub_target="local")
        options = handler.daskhub_cluster_options(gateway_model.gateway_options(local_model), config)
    user = User("alice")
    chosen = options.get_configuration(
        options.parse_options({"worker_cores": 7, "worker_memory": 27, "num_gpus": 1}), user
    )
    assert chosen["worker_cores"] == 7
    assert chosen["worker_memory"] == 27 * 2**30
    if target == "kubernetes":
        assert chosen["image"] == "pangeo/pangeo-notebook:2024.01.15"
        assert chosen["worker_extra_container_config"]["resources"]["limits"] == {"nvidia.com/gpu": 1}
    else:  # the local backend has no images or containers: only what it knows
        assert set(chosen) == {"worker_cores", "worker_memory"}
    for bad, message in (
        ({"worker_cores": 8}, "worker_cores must be <= 7"),
        ({"worker_memory": 28}, "worker_memory must be <= 27"),
        ({"image": "pangeo/pangeo-notebook"}, "you must also provide a tag"),
    ):
        with pytest.raises(Exception, match=message):
            options.get_configuration(options.parse_options(bad), user)


def test_the_chart_config_installs_our_gateway_authenticator():
    """Run as the gateway runs its extraConfig: the authenticator class becomes our JupyterHub subclass."""
    _, _, rendered = render("example-site")
    config = _run_extra_config(rendered, "dask_gateway_server.backends.kubernetes.KubeBackend")
    from dask_gateway_server.auth import JupyterHubAuthenticator  # noqa: PLC0415

    authenticator = config.DaskGateway.authenticator_class
    assert issubclass(authenticator, JupyterHubAuthenticator)
    assert authenticator is not JupyterHubAuthenticator
    assert "authenticate" in vars(authenticator)  # the 401-for-a-refused-token override


def test_cluster_config_carries_the_limits_without_scheduler_resources():
    _, _, rendered = render("example-site", daskhub_gateway_cluster_max_cores=70)
    config = _run_extra_config(rendered, "dask_gateway_server.backends.kubernetes.KubeBackend")
    assert dict(config.ClusterConfig) == {"idle_timeout": 1800.0, "cluster_max_cores": 70}
    # Scheduler resources are the chart's gateway.backend.scheduler (requests and limits apart).
    scheduler = gateway_section(rendered)["gateway"]["backend"]["scheduler"]
    assert scheduler["cores"] == {"request": 1, "limit": 1}
    assert scheduler["memory"] == {"request": "32G", "limit": "100G"}


def test_the_settings_entry_survives_awkward_strings():
    for value in ["plain", "it's", "'''", "back\\slash", 'quote "x"', "ends with \\"]:
        model = ks.model("example-site", daskhub_gateway_worker_image=f"org/img:{value}")
        entry = helm_values.gateway_extra_config(model)["00-daskhub-settings"]
        namespace = service_files.run_extra_config({"00": entry}, Config())
        assert namespace["DASKHUB_GATEWAY_SETTINGS"]["options"]["image"] == f"org/img:{value}"


# --- Composed mode: the glue the umbrella chart would add ----------------------


def test_composed_mode_renders_the_umbrella_glue():
    _model, _secrets, rendered = render("example-site", daskhub_chart_mode="composed")
    releases = by_key(rendered)
    assert [(r["name"], r["chart"], r["version"]) for r in rendered["releases"]] == [
        ("dhub", "jupyterhub/jupyterhub", JUPYTERHUB_CHART_VERSION),
        ("dhub-dask-gateway", "dask/dask-gateway", GATEWAY_VERSION),
    ]
    hub = releases["jupyterhub"]["values"]
    gateway = releases["dask-gateway"]["values"]
    assert hub["hub"]["services"]["dask-gateway"] == {
        "display": False,
        "url": "http://traefik-dhub-dask-gateway.daskhub",
    }
    env = hub["singleuser"]["extraEnv"]
    # HTTPS is on: pods reach the gateway through the internal proxy-http service.
    assert env["DASK_GATEWAY__ADDRESS"] == "http://proxy-http:8000/services/dask-gateway/"
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://traefik-dhub-dask-gateway.daskhub:80"
    assert env["DASK_GATEWAY__PUBLIC_ADDRESS"] == "/services/dask-gateway/"
    assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
    assert env["ATLAS_LOCAL_ROOT_BASE"] == "/cvmfs/atlas.cern.ch/repo/ATLASLocalRootBase"
    assert gateway["gateway"]["prefix"] == "/services/dask-gateway"
    auth = gateway["gateway"]["auth"]
    assert auth["type"] == "jupyterhub"
    assert auth["jupyterhub"]["apiUrl"] == "http://hub:8081/hub/api"
    # The pinned dask-gateway: the gateway checks the service scope, and users get it.
    assert auth["jupyterhub"]["jupyterhubServiceName"] == "dask-gateway"
    assert "access:services!service=dask-gateway" in hub["hub"]["loadRoles"]["user"]["scopes"]
    assert "self" in hub["hub"]["loadRoles"]["user"]["scopes"]
    # The gateway chart's own default is a LoadBalancer; ours is explicit.
    assert gateway["traefik"]["service"]["type"] == "LoadBalancer"
    _, _, plain = render("local", daskhub_chart_mode="composed")
    assert by_key(plain)["dask-gateway"]["values"]["traefik"]["service"] == {"type": "ClusterIP"}
    assert by_key(plain)["jupyterhub"]["values"]["singleuser"]["extraEnv"]["DASK_GATEWAY__ADDRESS"] == (
        "http://proxy-public/services/dask-gateway"
    )


def test_umbrella_mode_with_a_gateway_that_knows_scoped_access():
    """A newer gateway in the umbrella gets the service name too (version-gated, not mode-gated)."""
    model = ks.model("local")
    versions = {"jupyterhub": JUPYTERHUB_CHART_VERSION, "dask-gateway": GATEWAY_VERSION}
    values = helm_values._gateway_values(model, versions, composed=False)
    assert values["gateway"]["auth"]["jupyterhub"]["jupyterhubServiceName"] == "dask-gateway"
    assert "apiUrl" not in values["gateway"]["auth"]["jupyterhub"]


# --- Token wiring ----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_tokens_are_wired_explicitly_and_idempotently(mode):
    model = ks.model(
        "example-site", daskhub_chart_mode=mode, daskhub_hub_extra_services={"grafana": {"url": "http://g"}}
    )
    secrets = ks.secrets(model)
    first = helm_values.render(model, secrets)
    second = helm_values.render(model, dict(secrets))
    assert first == second
    hub = hub_section(first, "secrets")
    gateway = gateway_section(first, "secrets")
    assert hub["proxy"]["secretToken"] == secrets["proxy_secret_token"]
    assert hub["hub"]["cookieSecret"] == secrets["cookie_secret"]
    assert hub["hub"]["services"]["dask-gateway"]["apiToken"] == secrets["dask_gateway_api_token"]
    assert gateway["gateway"]["auth"]["jupyterhub"]["apiToken"] == hub["hub"]["services"]["dask-gateway"]["apiToken"]
    assert hub["hub"]["services"]["user-sync"]["apiToken"] == secrets["user_sync_api_token"]
    assert hub["hub"]["services"]["grafana"]["apiToken"] == secrets["service_grafana_api_token"]
    assert hub_section(first)["hub"]["services"]["grafana"] == {"url": "http://g"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("inventory", ks.inventory_names())
def test_no_secret_in_the_values(inventory, mode):
    model = ks.model(inventory, daskhub_chart_mode=mode)
    secrets = ks.secrets(model)
    rendered = helm_values.render(model, secrets)
    for release in rendered["releases"]:
        text = yaml_io.dump_yaml(release["values"])
        for name, value in secrets.items():
            assert value not in text, name
        secret_text = yaml_io.dump_yaml(release["secrets"])
        assert any(value in secret_text for value in secrets.values())


def test_dummy_password_goes_to_the_secrets_only():
    _model, secrets, rendered = render("local")
    assert hub_section(rendered, "secrets")["hub"]["config"]["DummyAuthenticator"] == {
        "password": secrets["dummy_password"]
    }
    assert "DummyAuthenticator" not in hub_section(rendered)["hub"]["config"]


# --- Security defaults --------------------------------------------------------------


@pytest.mark.parametrize(
    ("ranges", "warned"),
    [([], True), (["0.0.0.0/0"], True), (["10.0.0.0/8", "::/0"], True), (["192.0.2.0/24"], False)],
)
def test_an_open_gateway_load_balancer_warns(ranges, warned):
    _, _, rendered = render(
        "local",
        daskhub_gateway_traefik_service_type="LoadBalancer",
        daskhub_gateway_traefik_load_balancer_source_ranges=ranges,
        daskhub_gateway_traefik_load_balancer_ip="192.0.2.7",
    )
    opened = [w for w in rendered["warnings"] if "open to the whole internet" in w]
    assert bool(opened) is warned
    spec = gateway_section(rendered)["traefik"]["service"]["spec"]
    assert spec["loadBalancerIP"] == "192.0.2.7"
    assert spec.get("loadBalancerSourceRanges", []) == ranges


def test_policies_off_add_no_rules():
    _, _, rendered = render("example-site", daskhub_hub_network_policy_enabled=False)
    hub = hub_section(rendered)
    assert hub["singleuser"]["networkPolicy"] == {"enabled": False}
    assert hub["proxy"]["chp"]["networkPolicy"] == {"enabled": False}


def test_the_gateway_is_not_exposed_by_default():
    _, _, rendered = render("local")
    assert gateway_section(rendered)["traefik"]["service"] == {"type": "ClusterIP"}
    assert rendered["warnings"] == []


@pytest.mark.parametrize("mode", ["daskhub", "composed"])
def test_hub_database_volume_outlives_the_release(mode):
    _, _, rendered = render("example-site", daskhub_chart_mode=mode)
    annotations = hub_section(rendered)["hub"]["db"]["pvc"]["annotations"]
    assert annotations == {"helm.sh/resource-policy": "keep"}


# --- Extra values, deep-merged last ---------------------------------------------------


def test_extra_values_are_merged_last_in_both_modes():
    extra = {
        "jupyterhub": {"singleuser": {"startTimeout": 1200, "extraEnv": {"X": "1"}}, "cull": {"timeout": 7200}},
        "dask-gateway": {"gateway": {"loglevel": "DEBUG"}},
    }
    for mode in MODES:
        _, _, rendered = render("example-site", daskhub_chart_mode=mode, daskhub_extra_values=extra)
        hub = hub_section(rendered)
        assert hub["singleuser"]["startTimeout"] == 1200
        assert hub["singleuser"]["extraEnv"]["X"] == "1"
        assert hub["singleuser"]["extraEnv"]["ATLAS_LOCAL_ROOT_BASE"].startswith("/cvmfs")
        # Over the model's cull values (model/cull.py), key by key.
        assert hub["cull"]["timeout"] == 7200
        assert hub["cull"]["every"] == 600
        assert gateway_section(rendered)["gateway"]["loglevel"] == "DEBUG"
        for release in rendered["releases"]:
            assert chart_schema.validate_release(release, str(ks.CHART_DATA)) == []


def test_composed_mode_rejects_umbrella_only_extra_values():
    message = r"composed mode only the jupyterhub: and dask-gateway: sections.*rbac"
    with pytest.raises(helm_releases.ValuesError, match=message):
        render("local", daskhub_chart_mode="composed", daskhub_extra_values={"rbac": {"enabled": False}})
