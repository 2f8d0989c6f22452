"""Idle culling on the upgraded stack: the hub's culler stops alice's idle server, not bob's active one.

The stack is converged with a short timeout for this test and back after it.
Timings: the culler checks every EVERY seconds and stops a server whose
last_activity (in the hub) is older than TIMEOUT. A server tells the hub its
activity (its kernels', its API's) every JUPYTERHUB_ACTIVITY_INTERVAL seconds
(jupyterhub-singleuser, 300 by default; ACTIVITY here, through the site's
daskhub_singleuser_extra_env), so bob's last_activity in the hub is at most
ACTIVITY + BOB_EVERY seconds old while he works, well under TIMEOUT; the hub's
own polling of the proxy (last_activity_interval, 300 s) only ever moves
last_activity forward. alice's server is stopped between TIMEOUT and
TIMEOUT + EVERY + ACTIVITY seconds after her last request.
"""

from __future__ import annotations

import json
import time

import pytest
from support.browser import Browser
from support.stacks import UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK]


TIMEOUT, EVERY, ACTIVITY, BOB_EVERY = 24, 4, 3, 2
SHORT = {
    "daskhub_cull_timeout": TIMEOUT,
    "daskhub_cull_every": EVERY,
    "daskhub_singleuser_extra_env": {"JUPYTERHUB_ACTIVITY_INTERVAL": str(ACTIVITY)},
}


def _running(upgraded_site, user) -> bool:
    status, model = upgraded_site.api("GET", f"/users/{user}")
    assert status == 200
    return bool((model.get("servers") or {}).get(""))


def test_the_culler_stops_an_idle_server_and_spares_an_active_one(upgraded_site):
    password = upgraded_site.secrets()["dummy_password"]
    upgraded_site.playbook("site.yml", "-e", json.dumps(SHORT))
    browsers = {}
    try:
        status, services = upgraded_site.api("GET", "/services")
        assert status == 200
        culler = services["jupyterhub-idle-culler"]
        assert culler["command"][-3:] == [f"--timeout={TIMEOUT}", f"--cull-every={EVERY}", "--concurrency=10"]
        assert culler["roles"] == ["jupyterhub-idle-culler"]
        for user in ("bob", "alice"):
            browsers[user] = Browser(upgraded_site.hub_url)
            browsers[user].login(user, password)
            browsers[user].start_server(user)
        # alice's last request was her server's page, just now.
        idle_since = time.monotonic()
        bob = browsers["bob"].kernel("bob")
        # bob works (a cell every BOB_EVERY s) until alice's idle server is gone.
        deadline = idle_since + TIMEOUT + EVERY + ACTIVITY + 45
        while _running(upgraded_site, "alice"):
            assert time.monotonic() < deadline, "alice's idle server was not culled"
            assert bob.execute("print(1 + 1)", timeout=30).strip() == "2"
            time.sleep(BOB_EVERY)
        culled_after = time.monotonic() - idle_since
        assert culled_after >= TIMEOUT - 2, f"alice's server went after {culled_after:.0f}s, before the timeout"
        assert _running(upgraded_site, "bob"), "bob's active server was culled"
        bob.shutdown()
        # bob's server still works: a new kernel runs a new cell.
        fresh = browsers["bob"].kernel("bob")
        assert fresh.execute("import os\nprint(os.environ['JUPYTERHUB_USER'])", timeout=60).strip() == "bob"
        fresh.shutdown()
        log = (upgraded_site.prefix / "log" / "jupyterhub.log").read_text(errors="replace")
        assert "Culling server alice" in log
    finally:
        for user, browser in browsers.items():
            if _running(upgraded_site, user):
                browser.stop_server(user)
        upgraded_site.playbook("site.yml")
