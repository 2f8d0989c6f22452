"""Idle culling on the upgraded stack: the hub's culler stops alice's idle server, not bob's active one.

The stack is converged with a short timeout for this test and back after it.
Timings: the culler checks every EVERY seconds and stops a server whose
last_activity (in the hub) is older than TIMEOUT. A server tells the hub its
activity (its kernels', its API's) every ACTIVITY_INTERVAL seconds on this
stack (jupyterhub-singleuser's JUPYTERHUB_ACTIVITY_INTERVAL, 300 by default,
set through the stack's daskhub_singleuser_extra_env), so bob's
last_activity in the hub is at most ACTIVITY_INTERVAL + BOB_EVERY seconds
old while he works, well under TIMEOUT; the hub's own polling of the proxy
(last_activity_interval, 300 s) only ever moves last_activity forward.

Both servers start before the converge, under the site's own timeout: a
server's last_activity in the hub is its spawn's start until the server's
first report, so a start slower than a short timeout (a loaded machine)
would be culled as it became ready. The converge restarts the hub and not
the servers; bob runs a cell just before it and works again right after,
so he is idle only for the converge's length, under TIMEOUT; alice stays
idle, and the culler takes her server TIMEOUT after her last activity.
"""

from __future__ import annotations

import json
import time

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status as hub_status
from support.browser import Browser
from support.stacks import ACTIVITY_INTERVAL, UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK]


# TIMEOUT outlasts the converge that sets it (the hub's restart included), during which bob runs no cell.
TIMEOUT, EVERY, BOB_EVERY = 50, 4, 2
SHORT = {"daskhub_cull_timeout": TIMEOUT, "daskhub_cull_every": EVERY}


def _server(upgraded_site, user) -> dict | None:
    """The user's default server in the hub's users API, or None when it is not running."""
    status, model = upgraded_site.api("GET", f"/users/{user}")
    assert status == 200
    return (model.get("servers") or {}).get("") or None


def _seconds_since(timestamp: str) -> float:
    """Seconds from a hub timestamp to now."""
    return time.time() - hub_status.parse_time(timestamp)


def test_the_culler_stops_an_idle_server_and_spares_an_active_one(upgraded_site):
    password = upgraded_site.secrets()["dummy_password"]
    # bob's server starts first, alice's last: her idle time when the converge ends (bob's kernel, his cell
    # and the converge) must stay under TIMEOUT, or the culler takes her server before the test sees it outlive
    # the converge.
    browsers = {user: Browser(upgraded_site.hub_url) for user in ("bob", "alice")}
    try:
        for user, browser in browsers.items():
            browser.login(user, password)
            browser.start_server(user)
        bob = browsers["bob"].kernel("bob")
        assert bob.execute("print(1 + 1)", timeout=30).strip() == "2"
        bob_idle_from = time.monotonic()
        upgraded_site.playbook("site.yml", "-e", json.dumps(SHORT))
        status, services = upgraded_site.api("GET", "/services")
        assert status == 200
        culler = services["jupyterhub-idle-culler"]
        assert culler["command"][-3:] == [f"--timeout={TIMEOUT}", f"--cull-every={EVERY}", "--concurrency=10"]
        assert culler["roles"] == ["jupyterhub-idle-culler"]
        alice = _server(upgraded_site, "alice")
        assert alice, f"alice's server did not outlive the converge:\n{upgraded_site.hub_log('alice')}"

        # bob works (a cell every BOB_EVERY s) until alice's idle server is
        # gone, and for longer than his server would have lasted had it told
        # the hub nothing after his cell before the converge.
        bob_until = bob_idle_from + TIMEOUT + EVERY + ACTIVITY_INTERVAL + 5
        while alice or time.monotonic() < bob_until:
            assert bob.execute("print(1 + 1)", timeout=30).strip() == "2"
            time.sleep(BOB_EVERY)
            if alice:
                latest = _server(upgraded_site, "alice")
                # From her last activity the hub showed while her server ran.
                idle = _seconds_since(alice["last_activity"])
                if latest:
                    assert idle < TIMEOUT + EVERY + ACTIVITY_INTERVAL + 45, (
                        f"alice's idle server was not culled ({idle:.0f}s idle):\n{upgraded_site.hub_log('alice')}"
                    )
                else:
                    # Seen gone now: it went no later than this.
                    assert idle >= TIMEOUT - 2, f"alice's server went {idle:.0f}s after her last activity, early"
                alice = latest
        bob_server = _server(upgraded_site, "bob")
        assert bob_server, f"bob's active server was culled:\n{upgraded_site.hub_log('bob')}"
        bob.shutdown()
        # bob's server still works: a new kernel runs a new cell.
        fresh = browsers["bob"].kernel("bob")
        assert fresh.execute("import os\nprint(os.environ['JUPYTERHUB_USER'])", timeout=60).strip() == "bob"
        fresh.shutdown()
        assert "Culling server alice" in upgraded_site.hub_log("alice", limit=10**7)
    finally:
        for user, browser in browsers.items():
            if _server(upgraded_site, user):
                browser.stop_server(user)
        upgraded_site.playbook("site.yml")
