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


def hub_internal_url(settings: dict) -> str:
    """The hub's public proxy as seen from this host (no trailing slash)."""
    return f"http://{connect_host(settings['bind_ip'])}:{settings['hub_port']}"


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
    host = settings["bind_ip"]
    if host in WILDCARD_HOSTS:
        host = settings.get("fqdn") or "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings['hub_port']}"


def gateway_addresses(model: dict, settings: dict) -> dict:
    """The three gateway addresses: API (through the hub), scheduler proxy, public."""
    return {
        # Same shape as Kubernetes: users reach the gateway as a hub service.
        "address": hub_internal_url(settings) + GATEWAY_PREFIX,
        # Scheduler traffic (TLS) goes to the gateway's own proxy, which
        # multiplexes it with HTTP on one port, as traefik does on Kubernetes.
        "proxy_address": f"gateway://{connect_host(settings['bind_ip'])}:{settings['gateway_port']}",
        "public_address": public_url(model, settings) + GATEWAY_PREFIX,
    }


def gateway_service_url(settings: dict) -> str:
    return f"http://{connect_host(settings['bind_ip'])}:{settings['gateway_port']}"
