"""The identity provider's settings and the per-group bounds: rules of validation/model.py.

The callback URL must be the hub's own; groups come from the provider only
through generic-oauth, and then user sync leaves group membership to it
(model/hub.py, idp_manages_groups); the per-group gateway bounds
(daskhub_gateway_group_limits) are numbers the options handler can use.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.daskhub.deploy.plugins.module_utils.model.hub import hub_url
from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import _is_number
from ansible_collections.daskhub.deploy.plugins.module_utils.model.variables import variable_of

CALLBACK_PATH = "/hub/oauth_callback"


def validate_callback(model, oauth, errors, local_hub_port=None):
    """The callback URL is the hub's own: its path, and its origin where the model knows the public URL.

    The local target's URL without daskhub_hub_public_url needs its port (``local_hub_port``).
    """
    callback = str(oauth.get("callback_url") or "")
    if not callback.startswith(("https://", "http://")):
        return
    where = variable_of("oauth.callback_url")
    parts = urlsplit(callback)
    if parts.path.rstrip("/") != CALLBACK_PATH:
        errors.append(f"{where}: must end with {CALLBACK_PATH} (the hub's own callback), got {callback!r}")
    public = ""
    if model.get("target") != "local" or model.get("hub_public_url"):
        public = hub_url(model)
    elif local_hub_port is not None:
        public = hub_url(model, int(local_hub_port))
    if public:
        expected = urlsplit(public)
        if (parts.scheme, parts.netloc) != (expected.scheme, expected.netloc):
            errors.append(
                f"{where}: {callback!r} is not at the hub's public URL {public} "
                f"({_public_url_source(model)}); the provider would send users elsewhere"
            )


def _public_url_source(model) -> str:
    """The variable the hub's public URL comes from (model/hub.py, hub_url)."""
    if model.get("hub_public_url"):
        return variable_of("hub_public_url")
    if model.get("target") == "local":
        https = model.get("https_enabled") and model.get("https_hosts")
        host = f"{variable_of('https_hosts')}[0]" if https else "127.0.0.1"
        return f"{host} and daskhub_local_hub_port, or set {variable_of('hub_public_url')}"
    if model.get("https_enabled") and model.get("https_hosts"):
        return variable_of("https_hosts")
    return variable_of("proxy_load_balancer_ip")


def validate_oauth_groups(model, errors):
    oauth = model.get("oauth") or {}
    claim = oauth.get("groups_claim")
    groups_set = [key for key in ("allowed_groups", "admin_groups") if oauth.get(key)]
    if model.get("authenticator") != "generic-oauth":
        for key in (["groups_claim"] if claim else []) + groups_set:
            errors.append(
                f"{variable_of('oauth.' + key)}: groups come from the identity provider only when "
                f"{variable_of('authenticator')} is generic-oauth"
            )
        return
    for key in groups_set:
        if not claim:
            errors.append(
                f"{variable_of('oauth.' + key)}: needs {variable_of('oauth.groups_claim')} (the claim to read)"
            )
    oauthenticator_16 = model.get("target") == "kubernetes" and model.get("chart_mode") == "daskhub"
    if claim and model.get("manage_groups") and not oauthenticator_16:
        errors.append(
            f"{variable_of('manage_groups')}: the identity provider owns group membership "
            f"({variable_of('oauth.groups_claim')} is set) and rewrites it at each login; "
            "user sync must not manage groups too (leave it empty)"
        )


# What a group may bound, and the floor of each bound.
GROUP_LIMIT_KEYS = {"worker_cores": 1, "worker_memory": 0, "worker_gpus": 0, "cluster_max_workers": 1}


def validate_group_limits(gateway, errors, at):
    limits = gateway.get("group_limits") or {}
    where = at("group_limits")
    if not isinstance(limits, dict):
        errors.append(f"{where}: must be a mapping of hub group -> bounds")
        return
    gpus = gateway.get("worker_gpus") or {}
    for group, bounds in limits.items():
        if not isinstance(bounds, dict):
            errors.append(f"{where}.{group}: must be a mapping with some of {', '.join(GROUP_LIMIT_KEYS)}")
            continue
        for key in sorted(set(bounds) - set(GROUP_LIMIT_KEYS)):
            errors.append(f"{where}.{group}.{key}: unknown; use {', '.join(GROUP_LIMIT_KEYS)}")
        for key, floor in GROUP_LIMIT_KEYS.items():
            value = bounds.get(key)
            if value is None:
                continue
            if not _is_number(value) or value < floor or (key != "worker_memory" and float(value) != int(value)):
                kind = "a number of GiB more than 0" if key == "worker_memory" else f"a whole number >= {floor}"
                errors.append(f"{where}.{group}.{key}: must be {kind}, got {value!r}")
            elif key == "worker_memory" and value <= 0:
                errors.append(f"{where}.{group}.{key}: must be more than 0 GiB")
        if bounds.get("worker_gpus") and not gpus.get("enabled"):
            errors.append(f"{where}.{group}.worker_gpus: the site offers no GPUs ({at('worker_gpus')}.enabled)")
