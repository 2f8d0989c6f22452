"""The default NetworkPolicies, templated by the real charts, checked by a real analyzer.

The site is rendered by the project (helm_values.render, as the helm_values
module does), templated with the chart pulled from the loopback repository,
and the NetworkPolicy objects (the charts' and the gateway's own, which the
release role applies from the same render) go to network-config-analyzer
together with the pods they govern:
- the chart's own workloads (hub, proxy, autohttps, the gateway's api,
  controller and traefik), as `helm template` prints them;
- user servers, labelled as KubeSpawner labels them in this chart (the
  chart's singleuser selector plus singleuser.extraLabels);
- a scheduler and two workers of one cluster, made by dask-gateway-server's
  own KubeController.make_pod;
- a pod without labels in the site's namespace and one in another namespace.

The user's path needs: user pods -> the gateway (the HTTP API through the
proxy, the scheduler's TCP through traefik) and the hub; the gateway -> the
hub; traefik -> the API and the schedulers; schedulers <-> the API and
workers. Everything else from user pods stays closed, and nobody else
reaches the gateway's pods (traefik excepted when its Service is exposed).
"""

from __future__ import annotations

import re

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils import yaml_io
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import merge as helm_merge
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import releases as helm_releases
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
from dask_gateway_server.backends.kubernetes.controller import KubeController
from support import charts, network_analyzer
from support import kubernetes_site as ks

ELSEWHERE = "another-team"
OUTSIDE = "0.0.0.0-255.255.255.255"  # any IPv4 address outside the cluster, as nca names it
CASES = [
    pytest.param((inventory, mode), id=f"{inventory or 'model-defaults'}-{mode}")
    for inventory in (None, "example-site")
    for mode in charts.MODES
]

pytestmark = charts.LOOPBACK_CHARTS


def _template(release, tmp_path, namespace):
    folder = tmp_path / release["key"]
    folder.mkdir(parents=True)
    (folder / "values.yaml").write_text(yaml_io.dump_yaml(release["values"]))
    (folder / "secrets.yaml").write_text(yaml_io.dump_yaml(release["secrets"]))
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
    values = helm_merge.coalesce(hub_values, defaults)
    return {**policy["spec"]["podSelector"]["matchLabels"], **(values["singleuser"].get("extraLabels") or {})}


def site_network(inventory, mode, tmp_path):
    model = ks.model(inventory, daskhub_chart_mode=mode)
    assert model["hub_network_policy_enabled"] is True, "the case is the model's default: policies on"
    rendered = helm_values.render(model, ks.secrets(model))
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
    controller = KubeController(gateway_instance=helm_releases.gateway_fullname(model), api_url="http://api/api")
    for is_worker, name in ((False, "dask-scheduler-c1"), (True, "dask-worker-c1"), (True, "dask-worker-c1-b")):
        pod = controller.make_pod(namespace, "c1", KubeClusterConfig(), is_worker=is_worker)
        spec = pod["spec"]["containers"][0]
        pods.append(_pod(name, namespace, pod["metadata"]["labels"], spec["ports"]))
    pods += [_pod("stranger", namespace, {}), _pod("stranger", ELSEWHERE, {"app": "other"})]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"] + rendered["network_policies"]
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


@pytest.fixture(scope="module", params=CASES)
def network(request, tmp_path_factory):
    """One case's analyzed network, shared by the tests of that case (helm and nca take a while)."""
    try:
        charts.session()
    except charts.SharedMissing as missing:
        pytest.fail(str(missing))
    inventory, mode = request.param
    tmp_path = tmp_path_factory.mktemp(f"{inventory or 'defaults'}-{mode}")
    namespace, found, policies = site_network(inventory, mode, tmp_path)
    model = ks.model(inventory, daskhub_chart_mode=mode)
    fullname = helm_releases.gateway_fullname(model)

    def ports(source, destination):
        """Ports from source to destination; a bare pod name is one of the site's namespace."""
        source, destination = (
            name if "/" in name or name == OUTSIDE else f"{namespace}/{name}" for name in (source, destination)
        )
        return _ports(found.get((source, destination)))

    return {
        "inventory": inventory,
        "model": model,
        "policies": policies,
        "ports": ports,
        "traefik": f"traefik-{fullname}",
        "api": f"api-{fullname}",
        "controller": f"controller-{fullname}",
    }


def test_default_policies_open_the_users_path_and_nothing_more(network):
    ports, traefik, api = network["ports"], network["traefik"], network["api"]
    assert {p["metadata"]["name"] for p in network["policies"]} >= {"hub", "proxy", "singleuser"}
    proxy = "autohttps" if network["inventory"] == "example-site" else "proxy"  # HTTPS: the public service

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
        # a cluster's own traffic, its reports to the gateway API, and the API's scale requests
        ("dask-worker-c1", "dask-scheduler-c1"): {8786},
        ("dask-scheduler-c1", "dask-worker-c1"): {8786},
        ("dask-worker-c1", "dask-worker-c1-b"): {8786},
        ("dask-scheduler-c1", api): {8000},
        (api, "dask-scheduler-c1"): {8788},
    }
    if proxy == "autohttps":
        allowed[("jupyter-alice", "autohttps")] = {8080, 8443}
    for (source, destination), needed in allowed.items():
        got = ports(source, destination)
        assert got == "All" or needed <= got, f"{source} -> {destination}: needs {needed}, policies allow {got}"

    # From a user's pod, exactly those ports, and nothing else in the cluster.
    assert ports("jupyter-alice", "hub") == {8081}
    assert ports("jupyter-alice", traefik) == {8000}
    for closed in ("jupyter-bob", "dask-scheduler-c1", "dask-worker-c1", api, network["controller"], "stranger"):
        assert ports("jupyter-alice", closed) == set(), f"jupyter-alice -> {closed} is open"
    assert ports("jupyter-alice", f"{ELSEWHERE}/stranger") == set()
    # Nobody unlabelled reaches the hub or a user's server.
    for source in ("stranger", f"{ELSEWHERE}/stranger", "dask-worker-c1"):
        assert ports(source, "hub") == set(), f"{source} -> hub is open"
        assert ports(source, "jupyter-alice") == set(), f"{source} -> jupyter-alice is open"


def test_the_gateways_pods_admit_only_the_gateways_own_traffic(network):
    """The project's policies: each of the gateway's pods on exactly the ports its callers need."""
    ports, traefik, api, controller = network["ports"], network["traefik"], network["api"], network["controller"]
    exposed = network["model"]["gateway"]["traefik_service_type"] in ("LoadBalancer", "NodePort")
    exactly = {
        ("proxy", traefik): {8000},
        (traefik, api): {8000},
        ("dask-scheduler-c1", api): {8000},
        (traefik, "dask-scheduler-c1"): {8786, 8787},
        ("dask-worker-c1", "dask-scheduler-c1"): {8786},
        (api, "dask-scheduler-c1"): {8788},
        # workers listen on random ports: all of them, for the cluster's own pods
        ("dask-scheduler-c1", "dask-worker-c1"): "All",
        ("dask-worker-c1-b", "dask-worker-c1"): "All",
        # an exposed traefik takes clients from outside, on its ports only
        (OUTSIDE, traefik): {8000} if exposed else set(),
    }
    for (source, destination), expected in exactly.items():
        assert ports(source, destination) == expected, f"{source} -> {destination}"

    # An exposed traefik admits any address, which a CNI may also apply to pods (nca does not).
    guarded = (api, controller, "dask-scheduler-c1", "dask-worker-c1") + (() if exposed else (traefik,))
    for destination in guarded:
        for source in ("stranger", f"{ELSEWHERE}/stranger"):
            assert ports(source, destination) == set(), f"{source} -> {destination} is open"
    for destination in (api, controller, "dask-scheduler-c1", "dask-worker-c1"):
        assert ports(OUTSIDE, destination) == set(), f"outside -> {destination} is open"
    # Nobody calls the controller; the hub calls none of the gateway's pods.
    for source in ("hub", "proxy", traefik, api, "dask-scheduler-c1", "dask-worker-c1"):
        assert ports(source, controller) == set(), f"{source} -> controller is open"
    for destination in (traefik, api, "dask-scheduler-c1", "dask-worker-c1"):
        assert ports("hub", destination) == set(), f"hub -> {destination} is open"
    # Workers reach the scheduler's TCP only, not the API nor another gateway pod.
    assert ports("dask-worker-c1", api) == set()
    assert ports("dask-worker-c1", traefik) == set()
