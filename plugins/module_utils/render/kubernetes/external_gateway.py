"""External gateway access: the API over the hub's address (TLS), the LoadBalancer for schedulers only."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX


def gateway_api_cleartext_warnings(model: dict) -> list[str]:
    """Warn when the gateway's LoadBalancer serves its HTTP API without TLS.

    traefik's web entrypoint (port 80 of the LoadBalancer) carries both the
    schedulers' TLS traffic and the gateway's HTTP API in plain HTTP; a
    client pointed at it sends the user's hub token in cleartext.
    """
    gateway = model.get("gateway") or {}
    if gateway.get("traefik_service_type") != "LoadBalancer":
        return []
    hub_url = hub_model.hub_url(dict(model, target="kubernetes"))
    if hub_url.startswith("https://"):
        return [
            "The Dask Gateway LoadBalancer also serves the gateway's HTTP API without TLS (plain HTTP on port 80): "
            f"a token sent there crosses the network in cleartext. Clients outside the cluster use {hub_url}"
            f"{GATEWAY_PREFIX} for the API and the LoadBalancer only as proxy_address (the snippet printed at the end)."
        ]
    return [
        "The Dask Gateway LoadBalancer serves the gateway's HTTP API without TLS (plain HTTP on port 80) and the hub "
        "has no HTTPS address: clients outside the cluster send their JupyterHub token in cleartext. Set "
        "daskhub_https_enabled with daskhub_https_hosts (or an HTTPS daskhub_hub_public_url)."
    ]


def external_gateway(hub_url: str, load_balancer_address: str) -> dict:
    """How a client outside the cluster reaches the gateway: {address, proxy_address, code}.

    The HTTP API (the token) goes through the hub's own address, HTTPS on a
    site that has it; the LoadBalancer carries only the schedulers' traffic,
    which is TLS already. Without a LoadBalancer, proxy_address is "" (the
    schedulers are reachable from inside the cluster only).
    """
    hub_url = (hub_url or "").rstrip("/")
    address = f"{hub_url}{GATEWAY_PREFIX}" if hub_url else ""
    proxy_address = f"gateway://{load_balancer_address}:80" if load_balancer_address else ""
    arguments = [repr(address or f"https://<hub>{GATEWAY_PREFIX}")]
    if proxy_address:
        arguments.append(f"proxy_address={proxy_address!r}")
    arguments.append("auth='jupyterhub'")
    return {
        "address": address,
        "proxy_address": proxy_address,
        "code": f"gateway = Gateway({', '.join(arguments)})",
    }
