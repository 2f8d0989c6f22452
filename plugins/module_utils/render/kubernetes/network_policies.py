"""NetworkPolicies of the Dask Gateway's pods, which the dask-gateway chart does not ship.

With policies on (daskhub_hub_network_policy_enabled), the jupyterhub chart
guards the hub, the proxy and the user servers. The gateway's pods (api,
controller, traefik, and every cluster's scheduler and workers) would still
accept any pod of any namespace; these policies admit only what the gateway
itself needs. Neither chart takes extra objects, so the release role applies
them with kubernetes.core.k8s.

They restrict ingress only: the controller and the API server call the
Kubernetes API, whose address no policy can name portably.

Pods are selected by the labels the chart (api, controller, traefik) and
dask-gateway-server's KubeController.make_pod (schedulers, workers) give
them, gateway.dask.org/instance with app.kubernetes.io/component; the hub's
pods by the jupyterhub chart's own match labels. Ports are named as the pods
declare them, so a port a pod lacks opens nothing. Clusters run in the
gateway's namespace (the chart's default, which the project keeps), so one
namespace holds every pod a policy names.

Pure Python, shared by helm_values.render and the tests.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.releases import gateway_fullname

API_VERSION = "networking.k8s.io/v1"
# Marks the policies this project applies, so a run can remove the ones it
# no longer renders (and uninstall all of them); helm owns none of them.
MANAGED_BY = {"app.kubernetes.io/managed-by": "daskhub-deploy"}

# app.kubernetes.io/component of the gateway's pods.
TRAEFIK, API, CONTROLLER = "traefik", "gateway", "controller"
SCHEDULER, WORKER = "dask-scheduler", "dask-worker"
# traefik's container ports: web (the HTTP API and dashboards, and the
# schedulers' TLS when tcp shares it) and tcp, which exists only when set apart.
TRAEFIK_PORTS = ("web", "tcp")
# Service types that take traffic from outside the cluster.
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
ANY_ADDRESS = ("0.0.0.0/0", "::/0")


def label_selector() -> str:
    """The label query that finds this project's policies (kubectl -l, kubernetes.core label_selectors)."""
    return ",".join(f"{key}={value}" for key, value in MANAGED_BY.items())


def gateway_pods(instance: str, component: str) -> dict:
    """Labels of one kind of the gateway's pods; the same in both chart modes."""
    return {"gateway.dask.org/instance": instance, "app.kubernetes.io/component": component}


def hub_pods(release: str, component: str) -> dict:
    """The jupyterhub chart's match labels of its pods (component: proxy, singleuser-server, ...)."""
    return {"component": component, "app": "jupyterhub", "release": release}


def _pods(labels: dict) -> dict:
    return {"podSelector": {"matchLabels": dict(labels)}}


def _ports(names) -> list[dict]:
    return [{"port": name, "protocol": "TCP"} for name in names]


def _rule(sources: list[dict], ports=()) -> dict:
    """Ingress from the sources; on the named ports, or on every port when none are named."""
    rule = {"from": sources}
    if ports:
        rule["ports"] = _ports(ports)
    return rule


def _policy(name: str, namespace: str, pods: dict, ingress: list[dict]) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {"podSelector": {"matchLabels": dict(pods)}, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def _traefik_ingress(model: dict) -> list[dict]:
    release = model["release_name"]
    ingress = [
        # Notebooks send the schedulers' TLS here (DASK_GATEWAY__PROXY_ADDRESS).
        _rule([_pods(hub_pods(release, "singleuser-server"))], TRAEFIK_PORTS),
        # The hub's proxy routes /services/dask-gateway (the HTTP API, the dashboards) here.
        _rule([_pods(hub_pods(release, "proxy"))], ("web",)),
    ]
    if (model.get("gateway") or {}).get("traefik_service_type") in EXPOSED_SERVICE_TYPES:
        # Clients outside the cluster. Their address is not what the pod sees:
        # the Service's default externalTrafficPolicy (Cluster) rewrites it to
        # a node's, so the Service itself applies
        # daskhub_gateway_traefik_load_balancer_source_ranges, and the policy
        # admits any address.
        ingress.append(_rule([{"ipBlock": {"cidr": cidr}} for cidr in ANY_ADDRESS], TRAEFIK_PORTS))
    return ingress


def _api_ingress(instance: str) -> list[dict]:
    return [
        # The gateway's IngressRoute sends the HTTP API on to the api Service.
        _rule([_pods(gateway_pods(instance, TRAEFIK))], ("api",)),
        # Schedulers report their workers and their end to DASK_GATEWAY_API_URL
        # (dask_gateway.scheduler_preload).
        _rule([_pods(gateway_pods(instance, SCHEDULER))], ("api",)),
    ]


def _scheduler_ingress(instance: str) -> list[dict]:
    return [
        # Clients' TLS (the IngressRouteTCP, by SNI) and the dashboard (the IngressRoute).
        _rule([_pods(gateway_pods(instance, TRAEFIK))], ("scheduler", "dashboard")),
        # Workers join at tls://dask-<cluster>.<namespace>:8786.
        _rule([_pods(gateway_pods(instance, WORKER))], ("scheduler",)),
        # The API server forwards scale and adapt requests to the scheduler's
        # own API (Backend.forward_message_to_scheduler, port 8788).
        _rule([_pods(gateway_pods(instance, API))], ("api",)),
    ]


def _worker_ingress(instance: str) -> list[dict]:
    # dask-worker and its nanny listen on random ports: every port, but only
    # from the instance's schedulers and workers (TLS with each cluster's own
    # certificate keeps one cluster out of another's). Not the worker's HTTP
    # server (/info, /metrics), which has no authentication: another user's
    # cluster can read it. The local target guards it by peer account
    # (daskhub_dashboard_guard.py); here only a per-cluster policy would.
    # A scheduler's dashboard is admitted from traefik alone (above).
    return [_rule([_pods(gateway_pods(instance, SCHEDULER)), _pods(gateway_pods(instance, WORKER))])]


def gateway_policies(model: dict, instance: str) -> list[dict]:
    """The site's policies of the gateway `instance` (its fullname); [] with policies off."""
    if not model.get("hub_network_policy_enabled"):
        return []
    namespace = model["namespace"]
    return [
        _policy(f"traefik-{instance}", namespace, gateway_pods(instance, TRAEFIK), _traefik_ingress(model)),
        _policy(f"api-{instance}", namespace, gateway_pods(instance, API), _api_ingress(instance)),
        # The controller only calls the Kubernetes API: nothing comes in.
        _policy(f"controller-{instance}", namespace, gateway_pods(instance, CONTROLLER), []),
        _policy(
            f"dask-schedulers-{instance}", namespace, gateway_pods(instance, SCHEDULER), _scheduler_ingress(instance)
        ),
        _policy(f"dask-workers-{instance}", namespace, gateway_pods(instance, WORKER), _worker_ingress(instance)),
    ]


def to_gateway_proxy(instance: str, ports) -> dict:
    """An egress rule to the gateway's traefik on the named ports (added to the hub chart's policies)."""
    return {"to": [_pods(gateway_pods(instance, TRAEFIK))], "ports": _ports(ports)}


# --- Network policy --------------------------------------------------------------
# With policies on, the jupyterhub chart lets user pods reach the hub and the
# proxy, and no private address else; the gateway's API pod carries the label
# the hub's ingress admits (hub.jupyter.org/network-access-hub). Two ways are
# added to the chart's egress rules, on the user's path to the gateway's traefik:
# - user pods -> traefik: the notebook's client sends the scheduler traffic
#   there (DASK_GATEWAY__PROXY_ADDRESS);
# - the proxy -> traefik: the hub routes /services/dask-gateway (the HTTP
#   API) to it. The chart's proxy egress to "private IPs" is an ipBlock, which
#   a CNI need not apply to pod addresses; a pod selector always applies.
# The dask-gateway chart has no NetworkPolicy: network_policies renders the
# gateway's own (its pods' ingress), which the release role applies.


def network_policy_additions(model: dict) -> dict:
    """The egress rules added to the chart's policies, by chart section ({} with policies off).

    Named ports only: a port the traefik pod does not declare opens nothing.
    """
    if not model.get("hub_network_policy_enabled"):
        return {"singleuser": {}, "chp": {}}
    instance = gateway_fullname(model)
    return {
        # The HTTP API goes through the proxy; the scheduler's TCP (TLS) straight to traefik.
        "singleuser": {"egress": [to_gateway_proxy(instance, TRAEFIK_PORTS)]},
        "chp": {"egress": [to_gateway_proxy(instance, ("web",))]},
    }
