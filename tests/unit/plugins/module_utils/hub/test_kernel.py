"""KernelSession against a real Jupyter server: the single-user image's (tests/support/chart_envs.py).

The server pings its kernel websockets and drops one whose pings go
unanswered; here it pings every second and drops after 3 s (time enough
for a reading client to answer on a loaded machine), where a production
server takes 30 s and 90 s. A session left idle longer (a test's kernel,
held across other tests) must still run a cell, in the same kernel.
"""

from __future__ import annotations

import ctypes
import secrets
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.kernel import KernelError, KernelSession
from support import chart_envs


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ends_with_its_parent():
    """In the server, before it starts: SIGTERM when the process that started it ends (prctl PR_SET_PDEATHSIG).

    ansible-test units runs each test in a forked child that leaves with
    os._exit: a module fixture's teardown never runs there.
    """
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(URL, token, log file) of a jupyter server that drops a websocket after 3 s of unanswered pings."""
    try:
        env = chart_envs.singleuser_env()
    except chart_envs.EnvUnavailable as missing:
        pytest.skip(f"no single-user environment: {missing}")
    home = tmp_path_factory.mktemp("jupyter-home")
    token, port = secrets.token_hex(16), _free_port()
    log = home / "server.log"
    command = [
        str(env / "bin" / "jupyter-server"),
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={home}",
        # ms, as jupyter_server's WebSocketMixin reads them
        "--ServerApp.tornado_settings={'ws_ping_interval': 1000, 'ws_ping_timeout': 3000}",
    ]
    environment = {
        "PATH": f"{env / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "JUPYTER_TOKEN": token,
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    with open(log, "wb") as output:
        # No thread of this test runs while it forks: preexec_fn is safe here.
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_ends_with_its_parent,  # noqa: PLW1509
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=5) as response:
                response.read()
            break
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the server did not answer in 120 s:\n{log.read_text()}"
            time.sleep(0.5)
    try:
        yield url, token, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_an_idle_session_whose_socket_the_server_dropped_reconnects_to_the_same_kernel(server):
    url, token, log = server
    session = KernelSession(url, token=token, timeout=60)
    session.start()
    try:
        assert session.execute("x = 6\nprint('set')", timeout=60).strip() == "set"
        deadline = time.monotonic() + 30
        while "WebSocket ping timeout" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, "the server never dropped the idle socket"
            time.sleep(0.2)
        assert session.execute("print(x * 7)", timeout=60).strip() == "42"
    finally:
        session.shutdown()


def test_a_kernel_that_is_gone_fails_in_the_time_given_and_refuses_a_reconnect(server):
    """The server may keep a deleted kernel's socket open, pinging it, or drop it: either way the cell fails in time."""
    url, token, _log = server
    session = KernelSession(url, token=token, timeout=60)
    kernel_id = session.start()
    status, _body = session.request("DELETE", f"api/kernels/{kernel_id}")
    assert status == 204
    started = time.monotonic()
    # Silent (the socket kept open), or closed or refused (the socket dropped, before or after the cell was sent).
    with pytest.raises(KernelError, match=r"went silent|did not finish|refused|closed"):
        session.execute("print(1)", timeout=3)
    assert time.monotonic() - started < 30, "the pings kept the wait going"
    with pytest.raises(KernelError, match="refused"):
        session.connect()
