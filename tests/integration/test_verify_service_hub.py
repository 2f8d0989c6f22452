"""The daskhub-verify service's role on every JupyterHub the project deploys.

The role comes from site_model.hub_roles, as both targets render it; the hub
is a real JupyterHub of each version (tests/hub_fixtures.py: 4.0.2 and 5.5.0
of the hub images, 5.5.4 of the local pin). tests/integration/test_chart_boot.py
runs the same through the charts in the images' own environments.
"""

from __future__ import annotations

import urllib.error

import pytest
import site_models
from hub_fixtures import HUB_VERSIONS, Hub

from ansible_collections.daskhub.deploy.plugins.module_utils import site_model

pytestmark = pytest.mark.hub
MODEL = site_models.build_model(daskhub_users=["alice"], daskhub_admin_users=["hubadmin"])
VERIFY_USER = site_model.verify_user(MODEL)


class VerifyHub(Hub):
    """A test hub that also runs the verify service with the model's role."""

    SERVICES = {**Hub.SERVICES, site_model.VERIFY_SERVICE: {"scopes": None, "admin": False}}

    def config(self, chp):
        role = next(r for r in site_model.hub_roles(MODEL, "2026.3.0") if r["name"] == site_model.VERIFY_SERVICE)
        allowed = site_model.hub_config(MODEL, "2026.3.0")["Authenticator"]["allowed_users"]
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


def _status(hub, method, path, body=None, service=site_model.VERIFY_SERVICE):
    try:
        hub.api(method, path, body, service=service)
        return 200
    except urllib.error.HTTPError as err:
        return err.code


def test_verify_service_opens_its_users_server_and_mints_nothing(verify_hub):
    """The role works on every version: the old tokens!user role was answered 403 on 4.0.2 and 5.5.0."""
    user = verify_hub.api("GET", f"/users/{VERIFY_USER}")  # the hub made the allowed user at start
    assert user["admin"] is False
    # The service's own token opens that user's server through the proxy
    # (jupyterhub-singleuser checks its access scope), and nothing else.
    me = verify_hub.api("GET", "/user", service=site_model.VERIFY_SERVICE)
    assert me["kind"] == "service"
    assert f"access:servers!user={VERIFY_USER}" in me["scopes"]
    assert f"servers!user={VERIFY_USER}" in me["scopes"]
    assert not any(scope.startswith(("tokens", "admin", "access:services")) for scope in me["scopes"])
    # It mints no token, not even for its own user, and touches no other user.
    assert _status(verify_hub, "POST", f"/users/{VERIFY_USER}/tokens", {"expires_in": 300}) == 403
    for other in ("alice", "hubadmin"):
        verify_hub.add_users([other])
        assert _status(verify_hub, "POST", f"/users/{other}/tokens", {"expires_in": 300}) == 403
        assert _status(verify_hub, "POST", f"/users/{other}/server") == 403


def test_the_verify_user_may_log_in(verify_hub):
    assert verify_hub.login(VERIFY_USER)
