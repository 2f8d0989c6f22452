"""The tests' one client of a hub's REST API: the project's own HubClient, one attempt a call.

Tests talk to three kinds of hub (``support.hubs.Hub``, a deployed
``support.stacks.LocalStack``, a booted chart site in ``support.chart_boot``)
and all go through :func:`call`, which is
``plugins/module_utils/jupyterhub_api.HubClient.request`` without its retries
and without its wait for a restarting hub: a test sees each answer as it
comes. A user's own door (the login form, her cookies) is
``support.browser.Browser``.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError

__all__ = ["HubAPIError", "call", "status_of"]


def call(api_url: str, token: str, method: str, path: str, body=None, accept=None, timeout: float = 60, ca_file=None):
    """(HTTP status, JSON or None) of one API call.

    An error answer raises HubAPIError with its ``.status`` (the HTTP code);
    a hub that cannot be reached raises it with ``.status`` None.
    ``ca_file``: the CA an https hub's certificate chains to (the public stack's).
    """
    client = HubClient(api_url, token, timeout=timeout, ca_path=ca_file, retries=0, unavailable_timeout=0)
    return client.request(method, path, body=body, accept=accept)


def status_of(api_url: str, token: str, method: str, path: str, body=None, timeout: float = 60) -> int:
    """The HTTP status of one API call, an error answer's included; raises only when the hub cannot be reached."""
    try:
        return call(api_url, token, method, path, body=body, timeout=timeout)[0]
    except HubAPIError as error:
        if error.status is None:
            raise
        return error.status
