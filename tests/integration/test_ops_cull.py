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

Both servers run before the converge that shortens the timeout: a server's
last_activity in the hub is its spawn's start until the server's first
report, so a start slower than a short timeout (a loaded machine) would be
culled as it became ready. The converge restarts the hub (and its proxy),
not the servers. bob works through it, a cell every BOB_EVERY seconds, and
reconnects his kernel's websocket when the proxy's restart drops it, as
JupyterLab does. alice stays idle. No bound here depends on how long the
converge takes: her server may already have been idle for TIMEOUT when the
converge ends (a slow machine, or her server left running by an earlier
test), and then the culler may take it before the converge ends, but only
the culler, and never before TIMEOUT.
"""

from __future__ import annotations

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status as hub_status
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.kernel import KernelError
from support.browser import Browser
from support.stacks import ACTIVITY_INTERVAL, UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK]


TIMEOUT, EVERY, BOB_EVERY = 50, 4, 2
SHORT = {"daskhub_cull_timeout": TIMEOUT, "daskhub_cull_every": EVERY}
# How long after it is due (TIMEOUT after her last activity, or the converge's end when that is later) the
# culler may take to stop alice's server: its next check, her server's last report, and a loaded machine's slack.
CULL_SLACK = EVERY + ACTIVITY_INTERVAL + 45


def _server(upgraded_site, user) -> dict | None:
    """The user's default server in the hub's users API, or None when it is not running."""
    status, model = upgraded_site.api("GET", f"/users/{user}")
    assert status == 200
    return (model.get("servers") or {}).get("") or None


def _last_active(server: dict) -> float:
    """The server's last activity in the hub, as a time.time() value."""
    return hub_status.parse_time(server["last_activity"])


def _work_through(bob, converge) -> None:
    """bob runs a cell every BOB_EVERY s until the converge ends; the hub's restart may drop his websocket meanwhile."""
    while not converge.done():
        try:
            assert bob.execute("print(1 + 1)", timeout=30).strip() == "2"
        except (KernelError, OSError):
            # The proxy restarted with the hub: JupyterLab reconnects, and so does bob (the proxy may still be down).
            with contextlib.suppress(KernelError, OSError):
                bob.connect()
        time.sleep(BOB_EVERY)
    converge.result()


def test_the_culler_stops_an_idle_server_and_spares_an_active_one(upgraded_site):
    password = upgraded_site.secrets()["dummy_password"]
    browsers = {user: Browser(upgraded_site.hub_url) for user in ("bob", "alice")}
    try:
        for user, browser in browsers.items():
            browser.login(user, password)
            browser.start_server(user)
        bob = browsers["bob"].kernel("bob")
        assert bob.execute("print(1 + 1)", timeout=30).strip() == "2"
        before = _server(upgraded_site, "alice")
        assert before, f"alice's server is not running:\n{upgraded_site.hub_log('alice')}"
        converge_from = time.monotonic()
        with ThreadPoolExecutor(max_workers=1) as pool:
            _work_through(bob, pool.submit(upgraded_site.playbook, "site.yml", "-e", json.dumps(SHORT)))
        converged_at = time.time()
        status, services = upgraded_site.api("GET", "/services")
        assert status == 200
        culler = services["jupyterhub-idle-culler"]
        assert culler["command"][-3:] == [f"--timeout={TIMEOUT}", f"--cull-every={EVERY}", "--concurrency=10"]
        assert culler["roles"] == ["jupyterhub-idle-culler"]

        alice = _server(upgraded_site, "alice")
        if not alice:
            # Gone during the converge: only the culler may have stopped it, once she had been idle TIMEOUT.
            idle = converged_at - _last_active(before)
            assert idle >= TIMEOUT, (
                f"the converge stopped alice's server ({idle:.0f}s idle):\n{upgraded_site.hub_log('alice')}"
            )
            assert "Culling server alice" in upgraded_site.hub_log("alice", limit=10**7)

        # bob works until alice's idle server is gone, and for longer than
        # an idle server outlives the converge that shortened the timeout.
        bob_until = converge_from + TIMEOUT + CULL_SLACK
        while alice or time.monotonic() < bob_until:
            assert bob.execute("print(1 + 1)", timeout=30).strip() == "2"
            time.sleep(BOB_EVERY)
            if alice:
                latest = _server(upgraded_site, "alice")
                # From her last activity the hub showed while her server ran.
                idle = time.time() - _last_active(alice)
                if latest:
                    due = max(_last_active(latest) + TIMEOUT, converged_at)
                    assert time.time() < due + CULL_SLACK, (
                        f"alice's idle server was not culled ({idle:.0f}s idle, "
                        f"{time.time() - converged_at:.0f}s after the converge):\n{upgraded_site.hub_log('alice')}"
                    )
                else:
                    # Seen gone now: it went no later than this.
                    assert idle >= TIMEOUT - 2, f"alice's server went {idle:.0f}s after her last activity, early"
                    assert "Culling server alice" in upgraded_site.hub_log("alice", limit=10**7)
                alice = latest
        bob_server = _server(upgraded_site, "bob")
        assert bob_server, f"bob's active server was culled:\n{upgraded_site.hub_log('bob')}"
        bob.shutdown()
        # bob's server still works: a new kernel runs a new cell.
        fresh = browsers["bob"].kernel("bob")
        assert fresh.execute("import os\nprint(os.environ['JUPYTERHUB_USER'])", timeout=60).strip() == "bob"
        fresh.shutdown()
    finally:
        for user, browser in browsers.items():
            if _server(upgraded_site, user):
                browser.stop_server(user)
        upgraded_site.playbook("site.yml")
