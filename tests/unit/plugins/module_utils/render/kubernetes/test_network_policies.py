"""The gateway's NetworkPolicies as helm_values.render returns them, read the way Kubernetes reads them.

`admits` answers who may reach a pod under the rendered policies (pod
selectors in the policy's namespace, ipBlocks for outside addresses, named
ports); tests/integration/test_network_policy.py asks the same of a real
analyzer with the charts' own policies and pods.
"""

from __future__ import annotations

import ipaddress

import pytest
from ansible_collections.daskhub.deploy.plugins.filter import helm_values as filters
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values
from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
from dask_gateway_server.backends.kubernetes.controller import KubeController
from support import kubernetes_site as ks

INSTANCE = "dhub-dask-gateway"  # the model's default release dhub, in both chart modes
# KubeSpawner's labels on a user's server in the jupyterhub chart (its
# singleuser policy's selector plus singleuser.extraLabels).
USER = {
    "component": "singleuser-server",
    "app": "jupyterhub",
    "release": "dhub",
    "hub.jupyter.org/network-access-hub": "true",
}
STRANGER: dict = {}


def gateway_pod(component):
    return {"gateway.dask.org/instance": INSTANCE, "app.kubernetes.io/component": component}


def cluster_pod(is_worker):
    """A scheduler's or worker's labels, made by dask-gateway-server itself."""
    controller = KubeController(gateway_instance=INSTANCE, api_url="http://api/api")
    return controller.make_pod("daskhub", "c1", KubeClusterConfig(), is_worker=is_worker)["metadata"]["labels"]


TRAEFIK, API, CONTROLLER = gateway_pod("traefik"), gateway_pod("gateway"), gateway_pod("controller")


def policies(inventory=None, **overrides):
    model = ks.model(inventory, **overrides)
    return helm_values.render(model, ks.secrets(model))["network_policies"]


def _selects(selector, labels):
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def _peer_admits(peer, source, address):
    if "podSelector" in peer:
        return source is not None and _selects(peer["podSelector"], source)
    if "ipBlock" in peer and address is not None:
        network = ipaddress.ip_network(peer["ipBlock"]["cidr"])
        ip = ipaddress.ip_address(address)
        return ip.version == network.version and ip in network
    return False


def admits(rendered, destination, port, source=None, address=None):
    """Whether a pod with `source` labels (or an outside `address`) may reach `destination` on a named port."""
    governing = [p for p in rendered if _selects(p["spec"]["podSelector"], destination)]
    if not governing:
        return True  # no policy selects the pod: Kubernetes lets everything in
    for policy in governing:
        for rule in policy["spec"]["ingress"]:
            if rule.get("ports") and port not in {p["port"] for p in rule["ports"]}:
                continue
            if any(_peer_admits(peer, source, address) for peer in rule["from"]):
                return True
    return False


@pytest.mark.parametrize("inventory", [None, "example-site"])
def test_policies_off_render_none(inventory):
    assert policies(inventory, daskhub_hub_network_policy_enabled=False) == []


def test_every_pod_of_the_gateway_is_governed_ingress_only():
    rendered = policies()
    for pod in (TRAEFIK, API, CONTROLLER, cluster_pod(False), cluster_pod(True)):
        governing = [p for p in rendered if _selects(p["spec"]["podSelector"], pod)]
        assert len(governing) == 1, pod
        assert governing[0]["spec"]["policyTypes"] == ["Ingress"], "egress stays open (the Kubernetes API)"
    assert {p["metadata"]["namespace"] for p in rendered} == {"daskhub"}


def test_the_users_path_through_the_gateway():
    rendered = policies()
    scheduler, worker = cluster_pod(False), cluster_pod(True)
    proxy = {"component": "proxy", "app": "jupyterhub", "release": "dhub"}
    assert admits(rendered, TRAEFIK, "web", source=USER)
    assert admits(rendered, TRAEFIK, "web", source=proxy)
    assert admits(rendered, API, "api", source=TRAEFIK)
    assert admits(rendered, scheduler, "scheduler", source=TRAEFIK)
    assert admits(rendered, scheduler, "dashboard", source=TRAEFIK)
    assert admits(rendered, scheduler, "scheduler", source=worker)
    assert admits(rendered, worker, "any-port-the-worker-picked", source=scheduler)
    assert admits(rendered, worker, "any-port-the-worker-picked", source=worker)
    # the scheduler reports to the API, the API forwards scale requests to the scheduler
    assert admits(rendered, API, "api", source=scheduler)
    assert admits(rendered, scheduler, "api", source=API)


def test_users_and_strangers_reach_no_gateway_pod_but_traefik():
    rendered = policies()
    scheduler, worker = cluster_pod(False), cluster_pod(True)
    for destination, port in ((scheduler, "scheduler"), (scheduler, "dashboard"), (worker, "dashboard"), (API, "api")):
        assert not admits(rendered, destination, port, source=USER)
        assert not admits(rendered, destination, port, source=STRANGER)
    assert not admits(rendered, TRAEFIK, "web", source=STRANGER)
    assert not admits(rendered, TRAEFIK, "traefik", source=USER), "traefik's own port (ping, dashboard) stays closed"
    for source in (USER, TRAEFIK, API, scheduler, worker, STRANGER):
        assert not admits(rendered, CONTROLLER, "api", source=source)
    # another gateway instance's clusters are not this one's
    other = dict(worker, **{"gateway.dask.org/instance": "other-dask-gateway"})
    assert not admits(rendered, scheduler, "scheduler", source=other)
    assert not admits(rendered, worker, "any-port-the-worker-picked", source=other)


def test_a_cluster_ip_traefik_admits_no_outside_address():
    rendered = policies()
    for address in ("198.51.100.7", "2001:db8::7"):
        assert not admits(rendered, TRAEFIK, "web", address=address)


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_an_exposed_traefik_admits_outside_clients_on_its_ports(service_type):
    ranges = ["192.0.2.0/24"]
    rendered = policies(
        daskhub_gateway_traefik_service_type=service_type, daskhub_gateway_traefik_load_balancer_source_ranges=ranges
    )
    for port in ("web", "tcp"):
        assert admits(rendered, TRAEFIK, port, address="192.0.2.10")
        assert admits(rendered, TRAEFIK, port, address="2001:db8::10")
    # kube-proxy rewrites a client's address to a node's (externalTrafficPolicy
    # Cluster), so the source ranges are the Service's to apply, not the pod's.
    assert admits(rendered, TRAEFIK, "web", address="203.0.113.9")
    assert not admits(rendered, TRAEFIK, "traefik", address="192.0.2.10")
    assert not admits(rendered, API, "api", address="192.0.2.10")
    assert not admits(rendered, cluster_pod(False), "scheduler", address="192.0.2.10")


def test_the_example_sites_load_balancer_keeps_its_source_ranges_on_the_service():
    model = ks.model("example-site")
    rendered = helm_values.render(model, ks.secrets(model))
    (gateway,) = [r for r in rendered["releases"] if r["key"] in ("dask-gateway", "daskhub")]
    values = gateway["values"].get("dask-gateway", gateway["values"])
    assert values["traefik"]["service"]["spec"]["loadBalancerSourceRanges"] == ["198.51.100.0/24"]
    assert admits(rendered["network_policies"], TRAEFIK, "web", address="198.51.100.7")


def test_both_chart_modes_render_the_same_policies():
    assert policies(daskhub_chart_mode="daskhub") == policies(daskhub_chart_mode="composed")


def test_the_roles_selector_finds_every_rendered_policy():
    """The release role removes, and uninstall deletes, the policies this label query finds."""
    selector = filters.network_policy_selector()
    wanted = dict(term.split("=", 1) for term in selector.split(","))
    rendered = policies("example-site")
    assert rendered
    for policy in rendered:
        assert wanted.items() <= policy["metadata"]["labels"].items(), policy["metadata"]["name"]
    assert len({p["metadata"]["name"] for p in rendered}) == len(rendered)
