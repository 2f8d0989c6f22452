"""The dashboard guard's peer lookup (roles/daskhub_local/files/daskhub_dashboard_guard.py), on real sockets.

The guard itself, in a real scheduler and worker, is tested from a user's
kernel in tests/integration/test_user_path.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time

import pytest
from support.playbooks import ROOT

GUARD_PATH = ROOT / "roles/daskhub_local/files/daskhub_dashboard_guard.py"
_spec = importlib.util.spec_from_file_location("daskhub_dashboard_guard", GUARD_PATH)
guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(guard)


@contextlib.contextmanager
def _connection(family=socket.AF_INET, host="127.0.0.1", connect_to=None):
    """(accepted server socket, its peer address, client socket) of one real loopback connection."""
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.bind((host, 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        client = socket.create_connection((connect_to or host, port))
        accepted, address = listener.accept()
        try:
            yield accepted, address, client
        finally:
            accepted.close()
            client.close()


def test_the_peer_of_a_loopback_connection_is_the_account_that_opened_it():
    with _connection() as (accepted, address, client):
        assert guard.peer_uid(accepted.getsockname(), address) == os.getuid()
        # And the other way round: the client's peer is the server's socket.
        assert guard.peer_uid(client.getsockname(), client.getpeername()) == os.getuid()
        assert guard.connection_allowed(accepted.getsockname(), address) == (True, os.getuid())


def test_ipv6_loopback_and_ipv4_mapped_peers_are_found():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        with _connection(socket.AF_INET6, "::1") as (accepted, address, _):
            assert guard.peer_uid(accepted.getsockname(), address) == os.getuid()
        # A dual-stack listener sees an IPv4 client as ::ffff:127.0.0.1,
        # whose own row is in /proc/net/tcp, not tcp6.
        with _connection(socket.AF_INET6, "::ffff:127.0.0.1", connect_to="127.0.0.1") as (accepted, address, _):
            assert address[0] == "::ffff:127.0.0.1"
            assert guard.peer_uid(accepted.getsockname(), address) == os.getuid()
    except OSError as err:
        pytest.skip(f"IPv6 loopback unavailable: {err}")


def test_a_peer_that_closed_its_socket_is_nobodys():
    """Closed, the client's socket is an orphan (inode 0, and uid 0 once in TIME_WAIT): never trusted as root."""
    with _connection() as (accepted, address, client):
        client.close()
        deadline = time.monotonic() + 5
        while guard.peer_uid(accepted.getsockname(), address) is not None:
            assert time.monotonic() < deadline, "the closed peer still counts as its account's"
            time.sleep(0.05)
        assert guard.connection_allowed(accepted.getsockname(), address, frozenset({0, os.getuid()}))[0] is False


def test_no_connection_no_peer():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = unused.getsockname()
    assert guard.peer_uid(("127.0.0.1", 1), address) is None
    assert guard.peer_uid(("127.0.0.1", 1), address, tables=("/nonexistent",)) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="opening a socket as another account needs root")
def test_another_accounts_connection_is_refused():
    """A socket opened by the account nobody, as another user's scan would be."""
    nobody = pwd.getpwnam("nobody")
    python = shutil.which("python3", path="/usr/bin:/bin")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        script = (
            "import socket, sys\n"
            f"s = socket.create_connection(('127.0.0.1', {port}))\n"
            "print('connected', flush=True)\n"
            "sys.stdin.read()\n"
        )
        with subprocess.Popen(
            [python, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            user=nobody.pw_uid,
            group=nobody.pw_gid,
            extra_groups=[],
            text=True,
        ) as child:
            try:
                assert child.stdout.readline().strip() == "connected"
                accepted, address = listener.accept()
                with accepted:
                    assert guard.peer_uid(accepted.getsockname(), address) == nobody.pw_uid
                    allowed = guard.connection_allowed(accepted.getsockname(), address)
                    assert allowed == (False, nobody.pw_uid)
            finally:
                child.stdin.close()


def test_the_allowed_accounts_are_the_owner_and_root():
    assert guard.allowed_uids() == frozenset({os.getuid(), 0})
