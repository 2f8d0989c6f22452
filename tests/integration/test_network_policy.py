"""The default NetworkPolicies, templated by the real charts, checked by a real analyzer.

The site is rendered by the project (helm_values.render, as the helm_values
module does), templated with the chart pulled from the loopback repository,
and the NetworkPolicy objects go to network-config-analyzer together with
the pods they govern:
- the chart's own workloads (hub, proxy, autohttps, the gateway's api,
  controller and traefik), as `helm template` prints them;
- user servers, labelled as KubeSpawner labels them in this chart (the
  chart's singleuser selector plus singleuser.extraLabels);
- a scheduler and a worker of one cluster, made by dask-gateway-server's own
  KubeController.make_pod;
- a pod without labels in the site's namespace and one in another namespace.

The user's path needs: user pods -> the gateway (the HTTP API through the
proxy, the scheduler's TCP through traefik) and the hub; the gateway -> the
hub; schedulers <-> workers. Everything else from user pods stays closed.
"""

from __future__ import annotations

import re

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils import helm_values as hv
from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
from dask_gateway_server.backends.kubernetes.controller import KubeController
from support import charts, network_analyzer
from support import kubernetes_site as ks

ELSEWHERE = "another-team"
CASES = [
    pytest.param(inventory, mode, id=f"{inventory or 'model-defaults'}-{mode}")
    for inventory in (None, "example-site")
    for mode in charts.MODES
]


@pytest.fixture
def pulled():
    try:
        charts.session()
    except charts.SharedMissing as missing:
        pytest.fail(str(missing))
    return charts.pull


def _template(release, tmp_path, namespace):
    folder = tmp_path / release["key"]
    folder.mkdir(parents=True)
    (folder / "values.yaml").write_text(hv.dump_yaml(release["values"]))
    (folder / "secrets.yaml").write_text(hv.dump_yaml(release["secrets"]))
    files = {"values_file": str(folder / "values.yaml"), "secrets_file": str(folder / "secrets.yaml")}
    chart_dir = charts.pull(release["chart"], release["version"])
    _, newest = charts.kube_versions([chart_dir])
    _, helm, _ = charts.session()
    out = helm.run("template", release["name"], str(chart_dir), *charts.helm_args(files, namespace, newest)).stdout
    return chart_dir, charts.documents(out)


def _pod(name, namespace, labels, ports=()):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"containers": [{"name": "main", "image": "x", "ports": list(ports)}]},
    }


def _workload_pods(objects, namespace):
    pods = []
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            template = obj["spec"]["template"]
            ports = [p for c in template["spec"]["containers"] for p in c.get("ports") or []]
            pods.append(_pod(obj["metadata"]["name"], namespace, template["metadata"]["labels"], ports))
    return pods


def _singleuser_labels(objects, chart_dir, hub_values):
    """KubeSpawner's labels in this chart: the singleuser policy's selector and singleuser.extraLabels."""
    (policy,) = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "singleuser"]
    subchart = chart_dir / "charts" / "jupyterhub"  # inside the umbrella
    jupyterhub_chart = subchart if subchart.is_dir() else chart_dir
    defaults = charts.documents((jupyterhub_chart / "values.yaml").read_text())[0]
    values = hv.coalesce(hub_values, defaults)
    return {**policy["spec"]["podSelector"]["matchLabels"], **(values["singleuser"].get("extraLabels") or {})}


def site_network(inventory, mode, tmp_path):
    model = ks.model(inventory, daskhub_chart_mode=mode)
    assert model["hub_network_policy_enabled"] is True, "the case is the model's default: policies on"
    rendered = hv.render(model, ks.secrets(model))
    namespace = model["namespace"]
    objects, hub_values, hub_chart = [], None, None
    for release in rendered["releases"]:
        chart_dir, templated = _template(release, tmp_path, namespace)
        objects += templated
        if release["key"] in ("daskhub", "jupyterhub"):
            hub_chart = chart_dir
            hub_values = release["values"].get("jupyterhub", {}) if release["key"] == "daskhub" else release["values"]
    pods = _workload_pods(objects, namespace)
    user_labels = _singleuser_labels(objects, hub_chart, hub_values)
    pods += [_pod(f"jupyter-{user}", namespace, user_labels, [{"name": "notebook-port", "containerPort": 8888}])
             for user in ("alice", "bob")]
    controller = KubeController(gateway_instance=hv.gateway_fullname(model), api_url="http://api/api")
    for is_worker, name in ((False, "dask-scheduler-c1"), (True, "dask-worker-c1")):
        pod = controller.make_pod(namespace, "c1", KubeClusterConfig(), is_worker=is_worker)
        spec = pod["spec"]["containers"][0]
        pods.append(_pod(name, namespace, pod["metadata"]["labels"], spec["ports"]))
    pods += [_pod("stranger", namespace, {}), _pod("stranger", ELSEWHERE, {"app": "other"})]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    for policy in policies:
        policy["metadata"]["namespace"] = namespace
    found = network_analyzer.connections(policies, pods, [namespace, ELSEWHERE, "kube-system"], tmp_path / "nca")
    return namespace, found, policies


def _ports(connection):
    """The TCP ports nca's connection text allows: "All" for everything, else a set."""
    if connection is None:
        return set()
    if connection == "All connections":
        return "All"
    match = re.search(r"protocols:TCP,dst_ports:([0-9,\-]+)", connection)
    ports = set()
    for part in (match.group(1).split(",") if match else []):
        low, _, high = part.partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


@pytest.mark.parametrize(("inventory", "mode"), CASES)
def test_default_policies_open_the_users_path_and_nothing_more(pulled, tmp_path, inventory, mode):
    ns, found, policies = site_network(inventory, mode, tmp_path)
    assert {p["metadata"]["name"] for p in policies} >= {"hub", "proxy", "singleuser"}
    proxy = "autohttps" if inventory == "example-site" else "proxy"  # HTTPS: the public service is autohttps
    fullname = hv.gateway_fullname(ks.model(inventory))
    traefik, api = f"traefik-{fullname}", f"api-{fullname}"

    def ports(source, destination):
        return _ports(found.get((f"{ns}/{source}", f"{ns}/{destination}")))

    allowed = {
        # the user's notebook: the hub API, the gateway's HTTP API through the proxy, the scheduler through traefik
        ("jupyter-alice", "hub"): {8081},
        ("jupyter-alice", "proxy"): {8000},
        ("jupyter-alice", traefik): {8000},
        # the gateway checks users' tokens with the hub
        (api, "hub"): {8081},
        # the proxy routes /services/dask-gateway to traefik, traefik to the API and the schedulers
        ("proxy", traefik): {8000},
        (traefik, api): {8000},
        (traefik, "dask-scheduler-c1"): {8786, 8787},
        # a cluster's own traffic, and its heartbeat to the gateway API
        ("dask-worker-c1", "dask-scheduler-c1"): {8786},
        ("dask-scheduler-c1", "dask-worker-c1"): {8786},
        ("dask-scheduler-c1", api): {8000},
    }
    if proxy == "autohttps":
        allowed[("jupyter-alice", "autohttps")] = {8080, 8443}
    for (source, destination), needed in allowed.items():
        got = ports(source, destination)
        assert got == "All" or needed <= got, f"{source} -> {destination}: needs {needed}, policies allow {got}"

    # From a user's pod, exactly those ports, and nothing else in the cluster.
    assert ports("jupyter-alice", "hub") == {8081}
    assert ports("jupyter-alice", traefik) == {8000}
    for closed in ("jupyter-bob", "dask-scheduler-c1", "dask-worker-c1", api, "stranger"):
        assert ports("jupyter-alice", closed) == set(), f"jupyter-alice -> {closed} is open"
    assert _ports(found.get((f"{ns}/jupyter-alice", f"{ELSEWHERE}/stranger"))) == set()
    # Nobody unlabelled reaches the hub or a user's server.
    for source in (f"{ns}/stranger", f"{ELSEWHERE}/stranger", f"{ns}/dask-worker-c1"):
        assert _ports(found.get((source, f"{ns}/hub"))) == set(), f"{source} -> hub is open"
        assert _ports(found.get((source, f"{ns}/jupyter-alice"))) == set(), f"{source} -> jupyter-alice is open"
