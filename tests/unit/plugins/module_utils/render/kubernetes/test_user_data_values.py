"""The user's data on the workers in the Helm values (model/user_data.py through render/kubernetes/values.py).

The example site mounts the homes (a shared claim, a folder per user) and
CVMFS on its workers; here also each user's own ReadWriteMany claim. The
values are checked against the charts' real schemas (the shipped copy and
../shared/chart-data, both chart modes, both chart versions), and the
gateway's extraConfig is run as the chart runs it, after the chart's own
KubeClusterConfig, so the pods a user's cluster gets are the ones asked
for. helm template, lint and kubernetes-validate run them in
tests/integration/test_kubernetes_charts.py (every inventory).
"""

from __future__ import annotations

import shutil

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from dask_gateway_server.backends.kubernetes.utils import merge_json_objects
from dask_gateway_server.models import User
from support import charts, service_files
from support import kubernetes_site as ks
from support.kubernetes_site import gateway_section, hub_section, render
from traitlets.config import Config

OWN_CLAIMS = {"daskhub_gateway_user_home": {"enabled": True, "storage_class": "filestore-rwx"}}


@pytest.fixture(scope="module")
def chart_data_dirs(tmp_path_factory):
    """The shipped chart data and ../shared/chart-data (plus the umbrella's defaults, which it lacks)."""
    try:
        shared = charts.shared_path("chart-data")
    except charts.SharedMissing as missing:
        pytest.fail(str(missing))
    folder = tmp_path_factory.mktemp("chart-data")
    shutil.copytree(shared, folder, dirs_exist_ok=True)
    for umbrella in ks.CHART_DATA.glob("daskhub-*"):
        shutil.copytree(umbrella, folder / umbrella.name)
    return [ks.CHART_DATA, folder]


@pytest.mark.parametrize("mode", ["daskhub", "composed"])
@pytest.mark.parametrize("home", ["shared claim", "own claims"])
def test_both_homes_validate_against_the_chart_schemas(home, mode, chart_data_dirs):
    _, _, rendered = render("example-site", daskhub_chart_mode=mode, **(OWN_CLAIMS if home == "own claims" else {}))
    storage = hub_section(rendered)["singleuser"]["storage"]
    if home == "shared claim":
        assert storage["type"] == "static"
        assert storage["static"] == {"pvcName": "daskhub-homes", "subPath": "{unescaped_username}"}
    else:
        assert storage["dynamic"] == {"storageAccessModes": ["ReadWriteMany"], "storageClass": "filestore-rwx"}
    assert storage["homeMountPath"] == "/home/jovyan"
    for chart_data in chart_data_dirs:
        for release in rendered["releases"]:
            assert chart_schema.validate_release(release, str(chart_data)) == []


def _cluster_pods(rendered, user):
    """(scheduler, worker) pod spec additions for ``user``: the chart's KubeClusterConfig, then our extraConfig."""
    backend = gateway_section(rendered)["gateway"]["backend"]
    config = Config()
    config.DaskGateway.backend_class = "dask_gateway_server.backends.kubernetes.KubeBackend"
    for kind in ("scheduler", "worker"):
        setattr(config.KubeClusterConfig, f"{kind}_extra_pod_config", backend[kind].get("extraPodConfig") or {})
    service_files.run_extra_config(gateway_section(rendered)["gateway"]["extraConfig"], config)
    # cluster_options is a function of the user asking (her groups bound her options).
    options = config.Backend.cluster_options(User(user))
    chosen = options.get_configuration(options.parse_options({}), User(user))
    pods = []
    for kind in ("scheduler", "worker"):
        container = merge_json_objects({"volumeMounts": [{"name": "dask-credentials"}]},
                                       chosen.get(f"{kind}_extra_container_config") or {})
        spec = merge_json_objects({"volumes": [{"name": "dask-credentials"}]}, chosen[f"{kind}_extra_pod_config"])
        pods.append((spec, container))
    return pods


def test_the_example_site_s_workers_see_the_user_s_home_and_cvmfs_with_the_chart_s_scheduling():
    _, _, rendered = render("example-site")
    (scheduler, scheduler_container), (worker, worker_container) = _cluster_pods(rendered, "alice")
    assert [v["name"] for v in worker["volumes"]] == ["dask-credentials", "daskhub-home", "cvmfs"]
    assert worker["volumes"][1]["persistentVolumeClaim"] == {"claimName": "daskhub-homes"}
    assert worker_container["volumeMounts"][1:] == [
        {"name": "daskhub-home", "mountPath": "/home/jovyan", "subPath": "alice"},
        {"name": "cvmfs", "mountPath": "/cvmfs", "readOnly": True, "mountPropagation": "HostToContainer"},
    ]
    # What the chart's values set on the pods stays: the dask=worker pool, the security context.
    assert worker["nodeSelector"] == {"dask": "worker"}
    assert worker["tolerations"][0]["key"] == "dask"
    assert worker["securityContext"] == scheduler["securityContext"]
    assert [m["name"] for m in scheduler_container["volumeMounts"]] == ["dask-credentials", "daskhub-home", "cvmfs"]


def test_with_their_own_claims_each_user_mounts_hers():
    _, _, rendered = render("example-site", **OWN_CLAIMS)
    for user in ("alice", "bob"):
        _, (worker, container) = _cluster_pods(rendered, user)
        assert worker["volumes"][1] == {"name": "daskhub-home", "persistentVolumeClaim": {"claimName": f"claim-{user}"}}
        assert container["volumeMounts"][1] == {"name": "daskhub-home", "mountPath": "/home/jovyan"}
