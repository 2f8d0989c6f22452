"""A local site recovers from whatever state it is in (issue 19: 3, 4, 7), on the upgraded stack.

The tests run on ``upgraded_site`` (tests/support/stacks.py), after the
upgrade tests and before the uninstall tests, which take that stack down
anyway: a stack of their own would cost one more deploy and purge. That
stack is in the shared-uid mode (``daskhub_local_system_users: false``), so
nothing here touches the accounts of the session's ``local_stack``, and its
watchdog is forced to cron (``daskhub_local_supervisor_watchdog: cron``):
the entry is written to /etc/cron.d even where no cron daemon is installed,
and the tests run its command the way cron would, without waiting for
cron's minutes.

In order: (a) supervisord SIGKILLed under a user's running server, site.yml
again; (b) the cron watchdog replaces a SIGKILLed supervisord. (c), an install
killed midway healed by the next run, is test_ops_uninstall's reinstall (the
venv an uninstall removed, installed again: one install for both); (d), a
broken site uninstalled with purge=true, is test_ops_uninstall's purge. The
faults they make are in support/site_faults.py.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from support.browser import Browser
from support.site_faults import alive, cron_file, kill, supervisord_pid
from support.stacks import UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK]
# cron's environment: next to nothing (Debian's cron sets these four).
CRON_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/root", "SHELL": "/bin/sh", "LOGNAME": "root"}
SUM = "import dask.array as da\nprint(int(da.ones(1000, chunks=100).sum().compute()))"


@pytest.fixture(scope="module")
def stack(upgraded_site):
    if os.geteuid() != 0:
        pytest.skip("the watchdog's cron entry goes to /etc/cron.d, which needs root")
    return upgraded_site


def _servers(stack) -> list[int]:
    return [pid for pid, command in stack.processes() if "jupyterhub-singleuser" in command]


def _running(stack) -> bool:
    status = stack.ctl("status").stdout
    return (
        stack.healthy()
        and all(f"{name} " in status for name in ("jupyterhub", "dask-gateway"))
        and (status.count("RUNNING") == 2)
    )


def test_a_killed_supervisor_is_replaced_by_a_rerun_and_alices_server_survives(stack):
    browser = Browser(stack.hub_url)
    browser.login("alice", stack.secrets()["dummy_password"])
    browser.start_server("alice")
    servers = _servers(stack)
    assert servers, "alice's server is not running"
    hub = stack.pid("jupyterhub")
    kill(supervisord_pid(stack))
    assert alive(hub), "the hub went with its supervisor: nothing left to recover"

    stack.playbook("site.yml")
    assert not alive(hub), "the hub the dead supervisor left still runs beside the new one"
    assert _running(stack)
    assert all(map(alive, servers)), "alice's server did not survive the recovery"
    # Supervised again: a killed hub comes back.
    new_hub = stack.pid("jupyterhub")
    kill(new_hub)
    stack.wait_restarted("jupyterhub", new_hub)
    # The restarted hub adopted alice's server: a new kernel in it runs her code.
    assert _servers(stack) == servers
    kernel = browser.kernel("alice")
    try:
        assert kernel.execute(SUM, timeout=120).strip() == "1000"
    finally:
        kernel.shutdown()


def test_the_cron_watchdog_replaces_a_killed_supervisor(stack):
    entries = [line for line in cron_file(stack).read_text().splitlines() if line and not line.startswith("#")]
    assert any(line.startswith("@reboot root ") for line in entries), entries
    periodic = next(line for line in entries if line.startswith("*/"))
    command = periodic.split(None, 6)[6]  # minute hour day month weekday user command

    def as_cron():
        subprocess.run(["/bin/sh", "-c", command], env=CRON_ENV, cwd="/root", check=True, timeout=180)

    supervisor = supervisord_pid(stack)
    as_cron()
    assert supervisord_pid(stack) == supervisor, "the watchdog touched a supervisord that answers"
    hub, gateway = stack.pid("jupyterhub"), stack.pid("dask-gateway")
    kill(supervisor)
    as_cron()
    assert supervisord_pid(stack) not in (None, supervisor), "the watchdog did not start supervisord"
    assert not alive(hub) and not alive(gateway), "the dead supervisor's programs still run"
    stack.wait_for(lambda: _running(stack), timeout=120, what="the hub and the gateway under the new supervisord")
    log = (stack.prefix / "log/supervise.log").read_text()
    assert "supervisord did not answer: started it" in log and f" {hub} " in log, log
