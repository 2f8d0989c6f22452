"""The daskhub-verify service's role and user on every JupyterHub the project deploys.

The role comes from hub_model.hub_roles, as both targets render it; the hub
is a real JupyterHub of the oldest and the newest version
(tests/support/hubs.py: 4.0.2 of the daskhub chart's hub image, 5.5.4 of the
local pin). tests/integration/test_chart_boot.py runs the same through the
charts in both hub images' own environments (4.0.2 and 5.5.0).
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from support import hub_api, site_models
from support.hubs import HUB_VERSIONS, Hub
from support.versions import GATEWAY_VERSION

pytestmark = pytest.mark.hub
MODEL = site_models.build_model(daskhub_users=["alice"], daskhub_admin_users=["hubadmin"])
VERIFY_USER = hub_model.verify_user(MODEL)


class VerifyHub(Hub):
    """A test hub that also runs the verify service with the model's role."""

    SERVICES: ClassVar[dict] = {**Hub.SERVICES, hub_model.VERIFY_SERVICE: {"scopes": None, "admin": False}}

    def config(self, chp):
        role = next(r for r in hub_model.hub_roles(MODEL, GATEWAY_VERSION) if r["name"] == hub_model.VERIFY_SERVICE)
        allowed = hub_model.hub_config(MODEL, GATEWAY_VERSION)["Authenticator"]["allowed_users"]
        return super().config(chp) + "\n".join(
            [
                f"c.JupyterHub.load_roles.append({role!r})",
                f"c.Authenticator.allowed_users = {set(allowed) | {'hubadmin'}!r}",
                "",
            ]
        )


@pytest.fixture(scope="module", params=HUB_VERSIONS, ids=lambda v: f"jupyterhub-{v}")
def verify_hub(request):
    hub = VerifyHub(request.param).start()
    yield hub
    hub.stop()


def _status(hub, method, path, body=None, service=hub_model.VERIFY_SERVICE):
    return hub_api.status_of(hub.api_url, hub.tokens[service], method, path, body=body)


def test_verify_service_reaches_its_users_server_and_mints_no_token(verify_hub):
    """A token minted by the service could carry more than the user's server has: it mints none.

    (tokens!user=<user> was also answered 403 by 4.0.2 and 5.5.0 for a service:
    their UserTokenListAPIHandler.post checks the filter with the requester's
    kind, "service"; 5.5.4 checks it as a user.)
    """
    user = verify_hub.api("GET", f"/users/{VERIFY_USER}")  # the hub made the allowed user at start
    assert user["admin"] is False
    assert verify_hub.api("GET", f"/users/{VERIFY_USER}", service=hub_model.VERIFY_SERVICE)["name"] == VERIFY_USER
    # Its own user's server: stopping one that is not running is allowed (not 403).
    assert _status(verify_hub, "DELETE", f"/users/{VERIFY_USER}/server") in (200, 202, 204, 400)
    for other in ("alice", "hubadmin"):
        # 404: JupyterHub does not even confirm that a user it hides exists.
        assert _status(verify_hub, "POST", f"/users/{other}/server") in (403, 404)
        assert _status(verify_hub, "GET", f"/users/{other}") in (403, 404)
    for owner in (VERIFY_USER, "alice", "hubadmin"):
        assert _status(verify_hub, "POST", f"/users/{owner}/tokens", {"expires_in": 300}) in (403, 404)


def test_the_verify_user_may_log_in(verify_hub):
    assert verify_hub.login(VERIFY_USER)
