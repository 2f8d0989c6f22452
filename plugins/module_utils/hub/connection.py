# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The hub connection every hub-facing module takes: its options, its URLs, its client.

The options are declared here once and merged into each module's
argument_spec; plugins/doc_fragments/hub_connection.py documents them once.
The old spellings stay as aliases, so no site playbook breaks. The modules in
meta/runtime.yml's action group ``hub`` take all of them, so a play can set
them once with ``module_defaults: {group/daskhub.deploy.hub: {...}}``.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient

API_PATH = "/hub/api"

HUB_URL_SPEC = {
    "hub_url": {"type": "str", "required": True, "aliases": ["api_url", "hub_api_url"]},
}
HUB_CONNECTION_SPEC = {
    **HUB_URL_SPEC,
    "hub_token": {
        "type": "str",
        "required": True,
        "no_log": True,
        "aliases": ["api_token", "hub_api_token", "token"],
    },
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
}
# How the client's requests go, for a module that lets the play tune them
# (doc fragment: daskhub.deploy.hub_connection.requests).
HUB_REQUEST_SPEC = {
    "timeout": {"type": "float", "default": 30},
    "retries": {"type": "int", "default": 3},
    "parallelism": {"type": "int", "default": 8},
    "unavailable_timeout": {"type": "float", "default": 90.0},
}
# Every name the token may be given under, for the echoes that must leave it out.
TOKEN_NAMES = ("hub_token", *HUB_CONNECTION_SPEC["hub_token"]["aliases"])


def hub_base_url(url: str) -> str:
    """The hub's public URL (no trailing slash), from it or from its REST API root (``.../hub/api``)."""
    url = (url or "").strip().rstrip("/")
    if url.endswith(API_PATH):
        url = url[: -len(API_PATH)]
    return url


def hub_api_url(url: str) -> str:
    """The hub's REST API root, from its public URL or from the API root itself ("" for no URL)."""
    base = hub_base_url(url)
    return base + API_PATH if base else ""


def request_options(params: dict) -> dict:
    """The HUB_REQUEST_SPEC options of a module's parameters, as HubClient's keyword arguments."""
    return {name: params[name] for name in HUB_REQUEST_SPEC}


def hub_client(params: dict, **kwargs) -> HubClient:
    """A HubClient for a module's hub connection options; ``kwargs`` go to HubClient (timeout, retries...)."""
    return HubClient(
        hub_api_url(params["hub_url"]),
        params["hub_token"],
        validate_certs=params["validate_certs"],
        # An empty path (a site without its own CA) means the system's trust store.
        ca_path=params["ca_path"] or None,
        **kwargs,
    )
