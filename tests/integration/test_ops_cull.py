"""Idle culling on the upgraded stack: the hub's culler stops alice's idle server, not bob's active one.

The stack is converged with a short timeout for this test and back after it.
Timings: the culler checks every EVERY seconds and stops a server whose
last_activity (in the hub) is older than TIMEOUT. A server tells the hub its
activity (its kernels', its API's) every JUPYTERHUB_ACTIVITY_INTERVAL seconds
(jupyterhub-singleuser, 300 by default; ACTIVITY here, through the site's
daskhub_singleuser_extra_env, for the servers started after the converge), so
bob's last_activity in the hub is at most ACTIVITY + BOB_EVERY seconds old
while he works, well under TIMEOUT; the hub's own polling of the proxy
(last_activity_interval, 300 s) only ever moves last_activity forward.

alice's server starts before the short timeout: a server's last_activity in
the hub is its spawn's start until the server's first report, so a start
slower than TIMEOUT (a loaded machine) would be culled as it became ready.
She then stays idle through the converge, which restarts the hub and not her
server, and the culler takes her server TIMEOUT after her last activity.
"""

from __future__ import annotations

import json
import time

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status as hub_status
from support.browser import Browser
from support.stacks import UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK]


# TIMEOUT outlasts bob's start, which the short timeout does see (the
# slowest seen on a loaded machine took over 45 s from its spawn's start to
# its first report).
TIMEOUT, EVERY, ACTIVITY, BOB_EVERY = 90, 4, 3, 2
SHORT = {
    "daskhub_cull_timeout": TIMEOUT,
    "daskhub_cull_every": EVERY,
    "daskhub_singleuser_extra_env": {"JUPYTERHUB_ACTIVITY_INTERVAL": str(ACTIVITY)},
}


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
    browsers = {"alice": Browser(upgraded_site.hub_url)}
    try:
        browsers["alice"].login("alice", password)
        browsers["alice"].start_server("alice")
        upgraded_site.playbook("site.yml", "-e", json.dumps(SHORT))
        status, services = upgraded_site.api("GET", "/services")
        assert status == 200
        culler = services["jupyterhub-idle-culler"]
        assert culler["command"][-3:] == [f"--timeout={TIMEOUT}", f"--cull-every={EVERY}", "--concurrency=10"]
        assert culler["roles"] == ["jupyterhub-idle-culler"]
        alice = _server(upgraded_site, "alice")
        assert alice, f"alice's server did not outlive the converge:\n{upgraded_site.hub_log('alice')}"

        browsers["bob"] = Browser(upgraded_site.hub_url)
        browsers["bob"].login("bob", password)
        bob_spawned = time.monotonic()
        browsers["bob"].start_server("bob")
        bob = browsers["bob"].kernel("bob")
        # bob works (a cell every BOB_EVERY s) until alice's idle server is
        # gone, and for longer than a server that told the hub nothing would
        # have lasted from his spawn's start.
        bob_until = bob_spawned + TIMEOUT + EVERY + ACTIVITY + 5
        while alice or time.monotonic() < bob_until:
            assert bob.execute("print(1 + 1)", timeout=30).strip() == "2"
            time.sleep(BOB_EVERY)
            if alice:
                latest = _server(upgraded_site, "alice")
                # From her last activity the hub showed while her server ran.
                idle = _seconds_since(alice["last_activity"])
                if latest:
                    assert idle < TIMEOUT + EVERY + ACTIVITY + 45, (
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
