"""The gateway's code both targets run (plugins/files/gateway/), imported as modules.

The options handler with the site model's settings, and the authenticator
against a stand-in for the hub's /hub/api/user (what JupyterHub answers to
a known and an unknown token; the real hub's answers are checked by
tests/integration/test_user_path.py and test_chart_boot.py).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiohttp import web
from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities
from dask_gateway_server.auth import JupyterHubAuthenticator
from dask_gateway_server.models import User
from support import service_files
from support.site_models import build_model
from traitlets.config import Config

GATEWAY = service_files.SHARED / "gateway"
HANDLER = service_files.import_file(GATEWAY / "daskhub_options_handler.py")
AUTHENTICATOR = service_files.import_file(GATEWAY / "daskhub_authenticator.py")
TRAITS = service_files.import_file(GATEWAY / "daskhub_config_traits.py")
HANDLER_SOURCE = (GATEWAY / "daskhub_options_handler.py").read_text()
KUBE_BACKEND = "dask_gateway_server.backends.kubernetes.KubeBackend"
LOCAL_BACKEND = "dask_gateway_server.backends.local.UnsafeLocalBackend"


def test_every_file_the_targets_run_is_here():
    assert sorted(path.name for path in GATEWAY.glob("*.py")) == sorted(gateway_model.GATEWAY_CONFIG_FILES)


def test_imported_they_leave_the_config_alone():
    # Imported, not run as config: definitions only, nothing set on a `c`.
    assert "c" not in vars(HANDLER)
    assert "c" not in vars(AUTHENTICATOR)
    assert "c" not in vars(TRAITS)


def _options(backend=KUBE_BACKEND, **model_overrides):
    config = Config()
    config.DaskGateway.backend_class = backend
    settings = gateway_model.gateway_options(build_model(**model_overrides))
    return HANDLER.daskhub_cluster_options(settings, config)


def test_the_options_carry_the_models_bounds_and_defaults():
    options = _options(
        daskhub_gateway_worker_cores={"default": 2, "min": 1, "max": 6},
        daskhub_gateway_worker_memory={"default": 3, "min": 1, "max": 12},
        daskhub_gateway_worker_image="org/worker:1.2",
    )
    fields = {field.field: field for field in options.fields}
    assert sorted(fields) == ["image", "worker_cores", "worker_memory"]
    assert (fields["worker_cores"].default, fields["worker_cores"].min, fields["worker_cores"].max) == (2, 1, 6)
    assert (fields["worker_memory"].default, fields["worker_memory"].max) == (3.0, 12.0)
    assert fields["image"].default == "org/worker:1.2"
    chosen = options.get_configuration(options.parse_options({}), User("alice"))
    assert chosen == {
        "worker_cores": 2,
        "worker_cores_limit": 2,
        "worker_memory": 3 * 2**30,
        "worker_memory_limit": 3 * 2**30,
        "image": "org/worker:1.2",
    }


def test_gpus_are_an_option_only_when_the_site_offers_them():
    gpus = {"enabled": True, "default": 0, "min": 0, "max": 2, "resource": "nvidia.com/gpu"}
    options = _options(daskhub_gateway_worker_gpus=gpus)
    chosen = options.get_configuration(options.parse_options({"num_gpus": 2}), User("alice"))
    resources = {"nvidia.com/gpu": 2}
    assert chosen["worker_extra_container_config"] == {"resources": {"limits": resources, "requests": resources}}
    none = options.get_configuration(options.parse_options({"num_gpus": 0}), User("alice"))
    assert "worker_extra_container_config" not in none
    assert "num_gpus" not in {field.field for field in _options().fields}


@pytest.mark.parametrize(
    ("image", "tagged"),
    [("org/img:1", True), ("org/img", False), ("registry:5000/img", False), ("img@sha256:" + "0" * 64, True)],
)
def test_the_handler_wants_a_tag(image, tagged):
    assert HANDLER.daskhub_image_has_tag(image) is tagged
    options = _options()
    if tagged:
        assert options.get_configuration(options.parse_options({"image": image}), User("a"))["image"] == image
    else:
        with pytest.raises(ValueError, match="you must also provide a tag"):
            options.get_configuration(options.parse_options({"image": image}), User("a"))


@pytest.mark.parametrize(
    ("request_options", "message"),
    [
        ({"image": "pangeo/base-notebook"}, quantities.IMAGE_TAG_ERROR),
        ({"worker_cores": 5}, "worker_cores must be <="),
        ({"worker_memory": 0.5}, "worker_memory must be >="),
    ],
)
@pytest.mark.parametrize("backend", [LOCAL_BACKEND, KUBE_BACKEND])
def test_the_handler_refuses_what_the_site_does_not_offer(request_options, message, backend):
    options = _options(backend)  # the default model: 1 to 4 cores, 1 to 16 GiB
    with pytest.raises(ValueError, match=message):
        options.get_configuration(options.parse_options(request_options), User("alice"))


def test_on_the_local_backend_the_handler_keeps_what_it_knows():
    options = _options(LOCAL_BACKEND)
    chosen = options.get_configuration(options.parse_options({"worker_cores": 1}), User("alice"))
    assert set(chosen) == {"worker_cores", "worker_memory"}
    unknown = SimpleNamespace(DaskGateway=SimpleNamespace(backend_class=None))
    assert HANDLER.daskhub_cluster_config_traits(unknown) is None


# --- The user's data on her scheduler and workers (Kubernetes) ------------------------------

HOME = {"enabled": True, "claim": "homes"}
VOLUMES = [
    {
        "name": "cvmfs",
        "host_path": "/var/lib/cvmfs-k8s",
        "mount_path": "/cvmfs",
        "mount_propagation": "HostToContainer",
    },
    {"name": "scratch", "claim": "scratch", "mount_path": "/scratch", "sub_path": "{username}", "scheduler": False},
]


def _kube_options(static_pod=None, **model):
    config = Config()
    config.DaskGateway.backend_class = KUBE_BACKEND
    if static_pod is not None:  # what the chart sets from gateway.backend.worker.extraPodConfig
        config.KubeClusterConfig.worker_extra_pod_config = static_pod
    settings = gateway_model.gateway_options(build_model(daskhub_target="kubernetes", **model))
    return HANDLER.daskhub_cluster_options(settings, config)


def test_the_user_s_home_and_volumes_go_on_her_scheduler_and_workers_beside_the_chart_s_config():
    static = {"tolerations": [{"key": "dask", "value": "worker"}], "nodeSelector": {"dask": "worker"}}
    options = _kube_options(static, daskhub_gateway_user_home=HOME, daskhub_gateway_extra_volumes=VOLUMES)
    chosen = options.get_configuration(options.parse_options({}), User("alice"))
    home = {"name": "daskhub-home", "persistentVolumeClaim": {"claimName": "homes"}}
    cvmfs = {"name": "cvmfs", "hostPath": {"path": "/var/lib/cvmfs-k8s"}}
    scratch = {"name": "scratch", "persistentVolumeClaim": {"claimName": "scratch"}}
    assert chosen["worker_extra_pod_config"] == dict(static, volumes=[home, cvmfs, scratch])
    assert chosen["scheduler_extra_pod_config"] == {"volumes": [home, cvmfs]}
    assert chosen["worker_extra_container_config"]["volumeMounts"] == [
        {"name": "daskhub-home", "mountPath": "/home/jovyan", "subPath": "alice"},
        {"name": "cvmfs", "mountPath": "/cvmfs", "readOnly": True, "mountPropagation": "HostToContainer"},
        {"name": "scratch", "mountPath": "/scratch", "readOnly": True, "subPath": "alice"},
    ]
    assert [m["name"] for m in chosen["scheduler_extra_container_config"]["volumeMounts"]] == ["daskhub-home", "cvmfs"]
    # bob gets his own folder of the same claims.
    bob = options.get_configuration(options.parse_options({}), User("bob"))
    assert {m.get("subPath") for m in bob["worker_extra_container_config"]["volumeMounts"]} == {"bob", None}


def test_each_user_s_own_claim_and_gpus_share_the_worker_container():
    gpus = {"enabled": True, "default": 1, "min": 0, "max": 2, "resource": "nvidia.com/gpu"}
    options = _kube_options(daskhub_gateway_user_home={"enabled": True}, daskhub_gateway_worker_gpus=gpus)
    chosen = options.get_configuration(options.parse_options({}), User("carol"))
    assert chosen["worker_extra_pod_config"]["volumes"] == [
        {"name": "daskhub-home", "persistentVolumeClaim": {"claimName": "claim-carol"}}
    ]
    container = chosen["worker_extra_container_config"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert container["volumeMounts"] == [{"name": "daskhub-home", "mountPath": "/home/jovyan"}]


def test_a_name_whose_own_claim_cannot_be_found_is_refused_with_the_reason():
    options = _kube_options(daskhub_gateway_user_home={"enabled": True})
    with pytest.raises(ValueError, match=r"lowercase letter then lowercase letters and digits, not 'd\.dupont'"):
        options.get_configuration(options.parse_options({}), User("d.dupont"))
    # In a shared claim every name has its folder, as the hub spells it.
    options = _kube_options(daskhub_gateway_user_home=HOME)
    chosen = options.get_configuration(options.parse_options({}), User("daskhub-verify-user"))
    assert chosen["worker_extra_container_config"]["volumeMounts"][0]["subPath"] == "daskhub-verify-user"


def test_the_local_target_s_handler_mounts_nothing():
    options = _options(LOCAL_BACKEND, daskhub_gateway_user_home={"enabled": True})
    chosen = options.get_configuration(options.parse_options({}), User("alice"))
    assert not any(key.endswith("_config") for key in chosen)


# --- Per-group bounds (daskhub_gateway_group_limits) ----------------------------------

GROUP_LIMITS = {
    "physics": {"worker_cores": 2, "worker_memory": 3, "cluster_max_workers": 2},
    "power": {"worker_cores": 8, "worker_memory": 32, "worker_gpus": 2},
}
GPUS = {"enabled": True, "default": 0, "min": 0, "max": 1, "resource": "nvidia.com/gpu"}


def _group_options(groups, backend=LOCAL_BACKEND):
    """The Options the gateway builds for a user in ``groups``, as its config does (cluster_options(user))."""
    config = Config()
    config.DaskGateway.backend_class = backend
    model = build_model(daskhub_gateway_group_limits=GROUP_LIMITS, daskhub_gateway_worker_gpus=GPUS)
    namespace = {"c": config, "DASKHUB_GATEWAY_SETTINGS": gateway_model.gateway_settings(model, {})}
    exec(compile(HANDLER_SOURCE, str(GATEWAY / "daskhub_options_handler.py"), "exec"), namespace)  # noqa: S102
    user = User("alice", groups=groups)
    return config.Backend.cluster_options(user), user


def _bounds(options):
    return {f.field: f.max for f in options.fields if hasattr(f, "max")}


def test_a_user_in_no_bounded_group_gets_the_site_defaults():
    options, user = _group_options(["students"])
    assert _bounds(options) == {"worker_cores": 4, "worker_memory": 8.0, "num_gpus": 1}
    chosen = options.get_configuration(options.parse_options({"worker_cores": 4}), user)
    assert chosen["worker_cores"] == 4 and "cluster_max_workers" not in chosen


def test_a_member_gets_her_groups_bounds_and_a_request_over_them_is_refused():
    options, user = _group_options(["physics"])
    assert _bounds(options) == {"worker_cores": 2, "worker_memory": 3.0, "num_gpus": 1}
    chosen = options.get_configuration(options.parse_options({"worker_cores": 2, "worker_memory": 3}), user)
    assert chosen == {"worker_cores": 2, "worker_memory": 3 * 2**30, "cluster_max_workers": 2}
    with pytest.raises(ValueError, match=r"worker_cores must be <= 2.*\(the most your groups allow: physics\)"):
        options.parse_options({"worker_cores": 3})
    with pytest.raises(ValueError, match=r"worker_memory must be <= 3.*physics"):
        options.parse_options({"worker_memory": 4})


def test_a_member_of_several_groups_gets_the_largest_bound_and_may_exceed_the_site():
    options, user = _group_options(["physics", "power"])
    assert _bounds(options) == {"worker_cores": 8, "worker_memory": 32.0, "num_gpus": 2}
    chosen = options.get_configuration(options.parse_options({"worker_cores": 8, "num_gpus": 2}), user)
    # physics bounds the workers per cluster; power does not lift that.
    assert chosen["cluster_max_workers"] == 2 and chosen["worker_cores"] == 8


def test_the_kubernetes_backend_gets_the_same_bounds():
    options, user = _group_options(["physics"], KUBE_BACKEND)
    chosen = options.get_configuration(options.parse_options({}), user)
    assert (chosen["worker_cores"], chosen["cluster_max_workers"]) == (1, 2)
    assert chosen["worker_cores_limit"] == 1  # the Kubernetes ClusterConfig's traits are kept
    with pytest.raises(ValueError, match="physics"):
        options.parse_options({"worker_cores": 3})


def test_config_traits_are_set_section_by_section():
    config = Config()
    TRAITS.daskhub_apply_config(config, {"ClusterConfig": {"idle_timeout": 60.0}, "Proxy": {"prefix": "/p"}})
    assert config.ClusterConfig.idle_timeout == 60.0
    assert config.Proxy.prefix == "/p"


# --- The authenticator -------------------------------------------------------------


async def _authenticate(token: str):
    """Our authenticator against a stand-in hub: 200 for "good", 403 (JupyterHub's answer) for others."""

    async def user(request):
        if request.headers.get("Authorization") == "token good":
            return web.json_response({"name": "alice", "kind": "user", "scopes": []})
        return web.json_response({"status": 403, "message": "Forbidden"}, status=403)

    app = web.Application()
    app.router.add_get("/hub/api/user", user)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    authenticator = AUTHENTICATOR.DaskhubJupyterHubAuthenticator(
        jupyterhub_api_url=f"http://127.0.0.1:{port}/hub/api", jupyterhub_api_token="service-token"
    )
    await authenticator.setup(None)
    try:
        request = SimpleNamespace(headers={"Authorization": f"jupyterhub {token}"})
        return await authenticator.authenticate(request)
    finally:
        await authenticator.cleanup()
        await runner.cleanup()


def test_the_authenticator_is_jupyterhubs():
    assert issubclass(AUTHENTICATOR.DaskhubJupyterHubAuthenticator, JupyterHubAuthenticator)


def test_a_token_the_hub_refuses_gets_401_not_500():
    with pytest.raises(web.HTTPUnauthorized) as raised:
        asyncio.run(_authenticate("expired"))
    assert raised.value.headers["WWW-Authenticate"] == "jupyterhub"


def test_a_token_the_hub_knows_is_its_user():
    user = asyncio.run(_authenticate("good"))
    assert user.name == "alice"
