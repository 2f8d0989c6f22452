# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""What a failed request to the hub means, for a human: which token, which scope, which URL.

HubClient (hub/api.py) raises these; modules and scripts catch HubAPIError.
Standard library only.
"""

from __future__ import annotations

import json

# JupyterHub sets this header on every answer of its own, errors included
# (BaseHandler.set_default_headers); configurable-http-proxy does not.
HUB_HEADER = "X-JupyterHub-Version"

ADMIN_ROLE_HINT = (
    "only a hub admin may grant or revoke admin rights, so the user-sync service must be "
    "in the JupyterHub 'admin' role (load_roles: the 'admin' role lists the service); "
    "otherwise stop managing admins (leave the admins list unset)"
)


class HubAPIError(Exception):
    """A request to the hub failed; str() is the human-readable reason."""

    def __init__(self, message, status=None, method=None, url=None, hub_message=None, from_hub=True):
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.hub_message = hub_message
        # False when the answer came from something in front of the hub
        # (the proxy): its 404 says nothing about the user.
        self.from_hub = from_hub


class HubUnreachable(HubAPIError):
    """The hub did not answer at all (refused, DNS, TLS, timeout, or only its proxy answered)."""


def hub_said(body):
    """The 'message' of a JupyterHub JSON error body, else the raw text."""
    if not body:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:500]
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return json.dumps(data)[:500]


def not_the_hub(method, url, status, attempts, unavailable_timeout):
    """The error for answers that came from the proxy in front of the hub, never from the hub."""
    return HubUnreachable(
        f"{method} {url} got HTTP {status} from something in front of the hub, not from the hub "
        f"(no {HUB_HEADER} header: the proxy, while the hub is down or restarting), for "
        f"{attempts + 1} attempt(s) over {unavailable_timeout:g}s. Is the hub running?",
        status=status,
        method=method,
        url=url,
        from_hub=False,
    )


def http_error(method, url, status, raw, scope_hint, forbidden_hint):
    """The error for a failed answer of the hub: what went wrong and what to change."""
    hub_message = hub_said(raw)
    # JupyterHub answers an unknown token with 403 "Missing or invalid
    # credentials" (not 401) on most API handlers.
    bad_token = status == 401 or (status == 403 and "invalid credentials" in hub_message.lower())
    if bad_token:
        msg = (
            f"the hub rejected the API token ({status} {hub_message or 'Unauthorized'}) on {method} {url}: "
            "the token is "
            "wrong, expired or revoked. It must be the user-sync service token the hub was started "
            "with (daskhub_secrets.user_sync_api_token)."
        )
    elif status == 403:
        if forbidden_hint:
            msg = f"403 Forbidden on {method} {url}: {forbidden_hint}. Hub said: {hub_message}"
        else:
            need = f" It needs the scope {scope_hint}." if scope_hint else ""
            msg = (
                f"the token is not allowed to {method} {url} (403 Forbidden).{need} Give the "
                f"service's role that scope in the hub's load_roles. Hub said: {hub_message}"
            )
    elif status == 404:
        msg = f"{method} {url}: 404 Not Found ({hub_message}); is the API URL right (ending in /hub/api)?"
    else:
        msg = f"{method} {url} failed with HTTP {status}: {hub_message}"
    return HubAPIError(msg, status=status, method=method, url=url, hub_message=hub_message)
