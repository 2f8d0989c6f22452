"""A local site recovers from whatever state it is in (issue 19: 3, 4, 7), on a private stack of its own.

One stack, deployed once for this module (``stack``), in the shared-uid mode
(``daskhub_local_system_users: false``), so that nothing here touches the
accounts of the session's ``local_stack`` (alice, bob, admin in group
daskhub-users; the purge of a site's accounts is tested on test-only
accounts in test_local_accounts_purge.py), with a service account of its
own (``SERVICE_ACCOUNT``, removed at the end): run it under
``flock /tmp/daskhub-accounts.lock`` like every test that makes accounts.
Its watchdog is forced to cron (``daskhub_local_supervisor_watchdog:
cron``): the entry is written to
/etc/cron.d even where no cron daemon is installed, and the tests run its
command the way cron would, without waiting for cron's minutes.

In order: (a) supervisord SIGKILLed under a user's running server, site.yml
again; (b) the cron watchdog replaces a SIGKILLed supervisord; (c) an install
killed midway is healed by the next run; (d) a broken site (install killed,
supervisord killed, users' servers and clusters running) is uninstalled with
purge=true and nothing of it keeps running.
"""

from __future__ import annotations

import glob
import grp
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.browser import Browser
from support.playbooks import start_playbook
from support.stacks import SLOTS, LocalStack

pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("local_recovery")]

# Its own service account: each converge sets the account's home to its site's
# state dir, which usermod refuses while another site's processes run as it
# (upgraded_stack, deployed in parallel, runs as the default "daskhub").
SERVICE_ACCOUNT = "daskhub-recovery"
# cron's environment: next to nothing (Debian's cron sets these four).
CRON_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/root", "SHELL": "/bin/sh", "LOGNAME": "root"}
SUM = "import dask.array as da\nprint(int(da.ones(1000, chunks=100).sum().compute()))"


@pytest.fixture(scope="module")
def stack():
    if os.geteuid() != 0:
        pytest.skip("the watchdog's cron entry goes to /etc/cron.d, which needs root")
    stack = LocalStack(
        "recovery",
        SLOTS["recovery"],
        daskhub_local_system_users=False,
        daskhub_local_service_user=SERVICE_ACCOUNT,
        daskhub_local_supervisor_watchdog="cron",
    )
    try:
        stack.deploy()
        yield stack
    finally:
        stack.purge()
        # Purge keeps a service account (other sites may run as it); this one is the test's own.
        subprocess.run(["userdel", SERVICE_ACCOUNT], capture_output=True, check=False)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _kill(pid: int, timeout: float = 30) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        assert time.monotonic() < deadline, f"{pid} outlived SIGKILL"
        time.sleep(0.1)


def _supervisord(stack) -> int | None:
    out = stack.ctl("pid").stdout.strip()
    return int(out) if out.isdigit() else None


def _servers(stack) -> list[int]:
    return [pid for pid, command in stack.processes() if "jupyterhub-singleuser" in command]


def _running(stack) -> bool:
    status = stack.ctl("status").stdout
    return (
        stack.healthy()
        and all(f"{name} " in status for name in ("jupyterhub", "dask-gateway"))
        and (status.count("RUNNING") == 2)
    )


def _cron_file(stack) -> Path:
    found = [path for path in Path("/etc/cron.d").iterdir() if str(stack.prefix) in path.read_text(errors="replace")]
    assert len(found) == 1, f"one cron entry of the stack expected in /etc/cron.d, found {found}"
    return found[0]


def _interrupted_install(stack, log: Path) -> None:
    """rm the venv, start site.yml, and SIGTERM its process group (as ^C or a CI timeout) while it installs."""
    shutil.rmtree(stack.prefix / "venv")
    with log.open("w") as out:
        play = start_playbook("-i", str(stack.inventory), "site.yml", stdout=out, new_session=True)
        try:
            # The installer is at work once packages land in the new venv.
            deadline = time.monotonic() + 300
            while len(glob.glob(str(stack.prefix / "venv/lib/python3*/site-packages/*.dist-info"))) < 20:
                assert play.poll() is None, f"site.yml ended before the install:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"no install within 300 s:\n{log.read_text()[-3000:]}"
                time.sleep(0.1)
            os.killpg(play.pid, signal.SIGTERM)
            play.wait(timeout=60)
        finally:
            if play.poll() is None:
                os.killpg(play.pid, signal.SIGKILL)
                play.wait()
    assert "Install the pinned stack into the venv" in log.read_text()
    broken = subprocess.run([str(stack.python), "-c", "import jupyterhub"], capture_output=True, check=False)
    assert broken.returncode != 0, "the interrupted install left a working venv: this test stopped it too late"


def test_a_killed_supervisor_is_replaced_by_a_rerun_and_alices_server_survives(stack):
    browser = Browser(stack.hub_url)
    browser.login("alice", stack.secrets()["dummy_password"])
    browser.start_server("alice")
    servers = _servers(stack)
    assert servers, "alice's server is not running"
    hub = stack.pid("jupyterhub")
    _kill(_supervisord(stack))
    assert _alive(hub), "the hub went with its supervisor: nothing left to recover"

    stack.playbook("site.yml")
    assert not _alive(hub), "the hub the dead supervisor left still runs beside the new one"
    assert _running(stack)
    assert all(map(_alive, servers)), "alice's server did not survive the recovery"
    # Supervised again: a killed hub comes back.
    new_hub = stack.pid("jupyterhub")
    _kill(new_hub)
    stack.wait_restarted("jupyterhub", new_hub)
    # The restarted hub adopted alice's server: a new kernel in it runs her code.
    assert _servers(stack) == servers
    kernel = browser.kernel("alice")
    try:
        assert kernel.execute(SUM, timeout=120).strip() == "1000"
    finally:
        kernel.shutdown()


def test_the_cron_watchdog_replaces_a_killed_supervisor(stack):
    entries = [line for line in _cron_file(stack).read_text().splitlines() if line and not line.startswith("#")]
    assert any(line.startswith("@reboot root ") for line in entries), entries
    periodic = next(line for line in entries if line.startswith("*/"))
    command = periodic.split(None, 6)[6]  # minute hour day month weekday user command

    def as_cron():
        subprocess.run(["/bin/sh", "-c", command], env=CRON_ENV, cwd="/root", check=True, timeout=180)

    supervisor = _supervisord(stack)
    as_cron()
    assert _supervisord(stack) == supervisor, "the watchdog touched a supervisord that answers"
    hub, gateway = stack.pid("jupyterhub"), stack.pid("dask-gateway")
    _kill(supervisor)
    as_cron()
    assert _supervisord(stack) not in (None, supervisor), "the watchdog did not start supervisord"
    assert not _alive(hub) and not _alive(gateway), "the dead supervisor's programs still run"
    stack.wait_for(lambda: _running(stack), timeout=120, what="the hub and the gateway under the new supervisord")
    log = (stack.prefix / "log/supervise.log").read_text()
    assert "supervisord did not answer: started it" in log and f" {hub} " in log, log


def test_an_install_killed_midway_is_healed_by_the_next_run(stack, tmp_path):
    _interrupted_install(stack, tmp_path / "interrupted.log")
    stack.playbook("site.yml")
    assert _running(stack)
    check = subprocess.run(
        [str(stack.python), "-c", "import jupyterhub, distributed"], capture_output=True, check=False
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.takes_down_the_stack
def test_purge_takes_a_broken_site_down_entirely(stack, tmp_path):
    shared_accounts = grp.getgrnam("daskhub-users").gr_mem if _group_exists("daskhub-users") else None
    cluster = stack.start_cluster("alice")
    assert cluster
    browser = Browser(stack.hub_url)
    browser.login("alice", stack.secrets()["dummy_password"])
    browser.start_server("alice")
    kernel = browser.kernel("alice")
    assert kernel.execute("print(6 * 7)", timeout=60).strip() == "42"
    # Broken: supervisord killed, the venv half installed.
    _kill(_supervisord(stack))
    _interrupted_install(stack, tmp_path / "interrupted.log")
    cron_file = _cron_file(stack)

    out = stack.playbook("playbooks/uninstall.yml", "-e", "purge=true").stdout
    stack.deployed = False
    assert stack.processes() == [], "processes of the purged site still run"
    assert stack.listening_ports() == []
    assert not stack.prefix.exists()
    assert not cron_file.exists(), "the watchdog would start the purged site again"
    # The shared-uid mode made no accounts: other sites' accounts in the group stay (others may be added
    # meanwhile by stacks deployed in parallel), and the report says what stays.
    if shared_accounts is not None:
        assert set(shared_accounts) <= set(grp.getgrnam("daskhub-users").gr_mem), "other sites' accounts removed"
    assert f"The service account {SERVICE_ACCOUNT} stays" in out


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True
