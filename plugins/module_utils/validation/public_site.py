"""A local site opened to the network: HTTPS and a real authenticator, or an explicit override.

The local target binds the hub's proxy and the gateway's proxy to
``daskhub_local_bind_ip``. On loopback only this host reaches them; on any
other address the hub takes passwords and tokens from the network, so it
must serve them over HTTPS, and the dummy authenticator (one shared password
for every user) must not guard it. ``daskhub_allow_insecure_public_site``
accepts such a site anyway (a trusted private network, or a proxy in front
that terminates TLS). Checked with the model, before anything changes.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.daskhub.deploy.plugins.module_utils.model.variables import variable_of

BIND_VARIABLE = "daskhub_local_bind_ip"


def is_public(bind_ip: str) -> bool:
    """Whether other hosts can reach a service bound to ``bind_ip`` (the wildcard included)."""
    try:
        return not ipaddress.ip_address(str(bind_ip).strip("[]")).is_loopback
    except ValueError:
        # Not an address: validation/local_settings.py reports it; no second message here.
        return False


def public_site_errors(model: dict, bind_ip: str) -> list[str]:
    """The problems of a local site bound to ``bind_ip``, one line each, naming the variables."""
    if not is_public(bind_ip) or model.get("allow_insecure_public_site"):
        return []
    errors = []
    where = f"{BIND_VARIABLE} is {bind_ip}, not loopback, so the site is open to the network"
    override = f"(or set {variable_of('allow_insecure_public_site')}: true to accept it)"
    if not model.get("https_enabled"):
        errors.append(
            f"{variable_of('https_enabled')}: must be true when {where}: passwords and tokens would cross it "
            f"in clear text {override}"
        )
    if (model.get("authenticator") or "dummy") == "dummy":
        errors.append(
            f"{variable_of('authenticator')}: dummy is refused when {where}: anyone who learns the one shared "
            f"password logs in as any user; use generic-oauth {override}"
        )
    return errors
