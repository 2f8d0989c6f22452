"""plugins/module_utils/host/processes.py with real processes: what a dead supervisord leaves, and who holds a port.

The process tree is the one supervisord builds, played by small Python
processes: a "supervisord" starts a "hub" in a process group of its own
(supervisord's setpgrp), the hub starts its "proxy" from the proxy prefix
and a "notebook server" in a session of its own (the spawner's
start_new_session) with a "kernel" under it; the real proxies, too, run in
sessions of their own. Then the supervisord is
SIGKILLed, as in the field.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports
from ansible_collections.daskhub.deploy.plugins.module_utils.host import processes as lp
from ansible_collections.daskhub.deploy.plugins.module_utils.host import supervisor as host_supervisor

SLEEP = "import time; time.sleep(120)"


def _wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


@pytest.fixture
def site(tmp_path):
    """A prefix whose dead supervisord left its hub, the hub's proxy, a user's server and its kernel."""
    venv_bin = tmp_path / "venv/bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    proxy = tmp_path / "proxy/bin"
    proxy.mkdir(parents=True)
    (proxy / "configurable-http-proxy").write_text(SLEEP)
    etc = tmp_path / "etc"
    etc.mkdir()
    pids = tmp_path / "pids"
    pids.mkdir()
    hub = etc / "hub.py"
    hub.write_text(
        textwrap.dedent(f"""
        import subprocess, sys
        # The proxy and the server each in a session of its own, as the hub starts them.
        proxy = subprocess.Popen([sys.executable, {str(proxy / "configurable-http-proxy")!r}], start_new_session=True)
        server = subprocess.Popen([sys.executable, "-c", {_server_code(pids)!r}], start_new_session=True)
        open({str(pids / "proxy")!r}, "w").write(str(proxy.pid))
        open({str(pids / "server")!r}, "w").write(str(server.pid))
        {SLEEP}
        """)
    )
    config = etc / "supervisord.conf"
    hub_command = f"{venv_bin / 'python'} {hub} -f {etc / 'jupyterhub_config.py'}"
    config.write_text(
        f"[unix_http_server]\nfile = {tmp_path / 'run/supervisord.sock'}\n\n"
        f"[program:jupyterhub]\ncommand = {hub_command}\n"
    )
    (tmp_path / "run").mkdir()
    supervisor_code = (
        "import subprocess, sys, time\n"
        f"hub = subprocess.Popen({hub_command.split()!r}, process_group=0)\n"
        f"open({str(pids / 'hub')!r}, 'w').write(str(hub.pid))\n"
        "time.sleep(120)\n"
    )
    # Its own session, as the daemonized supervisord has.
    supervisor = subprocess.Popen([sys.executable, "-c", supervisor_code], start_new_session=True)
    for name in ("hub", "proxy", "server", "kernel"):
        _wait_for(pids / name)
    found = {name: int((pids / name).read_text()) for name in ("hub", "proxy", "server", "kernel")}
    supervisor.kill()
    supervisor.wait()
    yield {"config": str(config), "venv": str(tmp_path / "venv"), "proxy_dir": str(tmp_path / "proxy"), **found}
    for pid in found.values():
        if lp.alive(pid):
            os.kill(pid, signal.SIGKILL)


def _server_code(pids: Path) -> str:
    return (
        "import subprocess, sys, time\n"
        f"kernel = subprocess.Popen([sys.executable, '-c', {SLEEP!r}])\n"
        f"open({str(pids / 'kernel')!r}, 'w').write(str(kernel.pid))\n"
        "time.sleep(120)\n"
    )


def test_the_orphans_of_a_dead_supervisord_are_its_programs_and_their_proxies_not_users_processes(site):
    assert lp.supervisord_pid(site["config"]) is None, "nothing answers on the socket"
    found = {process["pid"] for process in lp.orphans(site["config"], site["venv"], site["proxy_dir"])}
    assert found == {site["hub"], site["proxy"]}
    killed = lp.stop(lp.orphans(site["config"], site["venv"], site["proxy_dir"]), timeout=5)
    assert killed == []
    assert not lp.alive(site["hub"]) and not lp.alive(site["proxy"])
    assert lp.alive(site["server"]) and lp.alive(site["kernel"]), "a user's server or kernel was stopped"


def test_a_proxy_whose_hub_is_gone_is_an_orphan_too(site):
    os.kill(site["hub"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while lp.alive(site["hub"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    found = {process["pid"] for process in lp.orphans(site["config"], site["venv"], site["proxy_dir"])}
    assert found == {site["proxy"]}


def _supervisord_params(site, **changes):
    params = {
        "venv_bin": os.path.join(site["venv"], "bin"),  # no supervisord in it
        "config": site["config"],
        "state": "started",
        "programs": ["jupyterhub"],
        "restart": [],
        "timeout": 5,
        "proxy_dir": site["proxy_dir"],
        "ports": {},
        "stop_timeout": 5,
    }
    return {**params, **changes}


def _no_command(argv):
    raise AssertionError(f"ran {argv}")


def test_check_mode_on_a_dead_supervisord_names_its_orphans_and_stops_nothing(site):
    """host/supervisor.py, the work of local_supervisord, in check mode."""
    result = host_supervisor.ensure_supervisord(_no_command, _supervisord_params(site), True, print)
    assert result["changed"] and result["started"]
    assert {process["pid"] for process in result["orphans"]} == {site["hub"], site["proxy"]}
    assert all(lp.alive(site[name]) for name in ("hub", "proxy", "server", "kernel"))


def test_a_supervisord_that_cannot_start_fails_once_its_orphans_are_stopped(site):
    with pytest.raises(host_supervisor.SupervisorError) as failure:
        host_supervisor.ensure_supervisord(_no_command, _supervisord_params(site), False, print)
    assert str(failure.value).endswith("venv/bin/supervisord'"), "not the missing supervisord's error"
    assert failure.value.result["started"] is True
    assert not lp.alive(site["hub"]) and not lp.alive(site["proxy"])
    assert lp.alive(site["server"]) and lp.alive(site["kernel"]), "a user's server or kernel was stopped"


def test_a_supervisord_that_does_not_answer_has_no_states_and_nothing_to_stop(site):
    assert host_supervisor.supervisor_states(site["config"]) == {}
    with pytest.raises(OSError, match="has no socket"):
        host_supervisor.supervisor_reread(site["config"])
    said = []
    result = host_supervisor.ensure_supervisord(
        _no_command, _supervisord_params(site, state="stopped"), False, said.append
    )
    assert result["changed"] is False and said == []


def test_port_holders_names_the_process():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        holder = host_ports.port_holders(port)
        assert holder is not None and f"process {os.getpid()} " in holder, holder
    assert host_ports.port_holders(port) is None


def test_each_process_names_its_parent_session_and_group():
    child = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        # Popen returns once the exec is past its point of no return; until the
        # kernel has laid out the new program's arguments, /proc/<pid>/cmdline
        # reads empty (seen once under the suite's load).
        deadline = time.monotonic() + 10
        while True:
            listed = {process["pid"]: process for process in lp.all_processes()}
            if listed[child.pid]["argv"] or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert listed[child.pid]["ppid"] == os.getpid()
        assert listed[child.pid]["sid"] == listed[child.pid]["pgid"] == child.pid
        assert listed[child.pid]["argv"] == ["sleep", "120"]
    finally:
        child.kill()
        child.wait()
