"""The local target's addresses: what clients on this host connect to, and the URL users open."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX

WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104  names of the wildcard, not a bind


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def connect_host(bind_ip: str) -> str:
    """The address local clients use for a service bound to ``bind_ip``."""
    if bind_ip in WILDCARD_HOSTS:
        return "127.0.0.1"
    if ":" in bind_ip:
        return f"[{bind_ip}]"
    return bind_ip


def https(settings: dict) -> bool:
    """Whether the hub's public proxy serves HTTPS (daskhub_https_enabled)."""
    return bool(settings.get("https"))


def hub_internal_url(settings: dict) -> str:
    """The hub's public proxy as seen from this host (no trailing slash).

    With HTTPS its certificate names the public host, not this address: the
    play's own probes of it (health) check that it serves, not whom.
    """
    scheme = "https" if https(settings) else "http"
    return f"{scheme}://{connect_host(settings['bind_ip'])}:{settings['hub_port']}"


def gateway_http_url(settings: dict) -> str:
    """The gateway's HTTP side (its API and the dashboards), as this host's processes reach it.

    Without HTTPS the gateway's proxy serves it on its public port beside
    the schedulers' TLS; with HTTPS that port takes only TLS (the schedulers'
    gateway://) and the HTTP side moves to loopback, where the hub's proxy
    (the hub service) and the notebooks on this host reach it, as the hub
    and the notebooks reach traefik inside a Kubernetes cluster.
    """
    if https(settings):
        return f"http://127.0.0.1:{settings['gateway_http_port']}"
    return f"http://{connect_host(settings['bind_ip'])}:{settings['gateway_port']}"


def hub_host_port(settings: dict) -> str:
    """The hub's own HTTP server (its API beside the proxy), always on loopback: host:port."""
    return f"127.0.0.1:{int(settings['hub_api_port'])}"


def hub_bind_url(settings: dict) -> str:
    """The hub's own URL (JupyterHub.hub_bind_url): services, the gateway and status call its API here."""
    return f"http://{hub_host_port(settings)}"


def public_url(model: dict, settings: dict) -> str:
    """The URL users open: the model's hub_public_url, else the bind address."""
    url = (model.get("hub_public_url") or "").rstrip("/")
    if url:
        return url
    if https(settings):
        port = int(settings["hub_port"])
        return f"https://{settings['https_host']}" + ("" if port == 443 else f":{port}")
    host = settings["bind_ip"]
    if host in WILDCARD_HOSTS:
        host = settings.get("fqdn") or "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings['hub_port']}"


def gateway_addresses(model: dict, settings: dict) -> dict:
    """The three gateway addresses: API (through the hub), scheduler proxy, public."""
    return {
        # Same shape as Kubernetes: users reach the gateway as a hub service
        # (with HTTPS, its HTTP side on loopback: gateway_http_url).
        "address": (gateway_http_url(settings) if https(settings) else hub_internal_url(settings)) + GATEWAY_PREFIX,
        # Scheduler traffic (TLS) goes to the gateway's own proxy, which
        # multiplexes it with HTTP on one port, as traefik does on Kubernetes.
        "proxy_address": f"gateway://{connect_host(settings['bind_ip'])}:{settings['gateway_port']}",
        "public_address": public_url(model, settings) + GATEWAY_PREFIX,
    }


def gateway_service_url(settings: dict) -> str:
    """The hub service dask-gateway's URL: where the hub's proxy sends /services/dask-gateway."""
    return gateway_http_url(settings)
