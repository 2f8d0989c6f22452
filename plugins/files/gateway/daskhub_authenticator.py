# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The gateway's JupyterHub authenticator, answering 401 to a token the hub refuses.

JupyterHub answers 403 to a token it does not know, and dask-gateway-server
(2024.1.0 and 2026.3.0) turns that into a 500; users with a wrong or
expired token must get 401, which tells them to log in again.

Part of dask-gateway-server's config on both targets (see README.md here).
"""

# ruff: noqa: F821  `c` is the config's global

from aiohttp import web as daskhub_web
from dask_gateway_server import auth as daskhub_auth

# The message dask-gateway-server gives the 500 it makes of the hub's 403.
DASKHUB_HUB_REFUSAL = "Permission failure verifying user's JupyterHub API token"


class DaskhubJupyterHubAuthenticator(daskhub_auth.JupyterHubAuthenticator):
    """JupyterHubAuthenticator that answers 401, not 500, to a token the hub rejects."""

    async def authenticate(self, request):
        try:
            return await super().authenticate(request)
        except daskhub_web.HTTPInternalServerError as err:
            if err.reason == DASKHUB_HUB_REFUSAL:
                raise daskhub_auth.unauthorized("jupyterhub") from None
            raise


if "c" in globals():  # run as config (traitlets gives it c), not imported
    c.DaskGateway.authenticator_class = DaskhubJupyterHubAuthenticator
