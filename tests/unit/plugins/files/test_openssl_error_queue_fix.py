"""plugins/files/python/daskhub_openssl_error_queue.py on real TLS connections of this interpreter.

The fault it fixes needs OpenSSL >= 3.4 to happen by itself (a failed socket
call leaves an ERR_LIB_SYS entry on the thread's error queue;
tests/integration/test_openssl_error_queue.py shows it on Debian 13's
Python). Here the same entry is put on the queue the way OpenSSL 3.4 does it
(ERR_raise(ERR_LIB_SYS, EPIPE)), on any OpenSSL 3: a healthy connection's
read with nothing to read must still say SSLWantReadError.
"""

from __future__ import annotations

import _ssl
import ctypes
import errno
import importlib.util
import ssl

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import python_probe
from support.playbooks import ROOT

FIX_PATH = ROOT / "plugins" / "files" / "python" / "daskhub_openssl_error_queue.py"
ERR_LIB_SYS = 2  # OpenSSL's err.h


def _load_fix():
    spec = importlib.util.spec_from_file_location("daskhub_openssl_error_queue", FIX_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fix = _load_fix()


@pytest.fixture
def restored_ssl(monkeypatch):
    """The ssl classes as they were after the test: install() wraps them for the whole process."""
    for cls, names in fix.METHODS:
        for name in names:
            monkeypatch.setattr(cls, name, getattr(cls, name))
    monkeypatch.setattr(ssl, fix.MARK, False, raising=False)


@pytest.fixture
def healthy_connection():
    opened = []
    server, client = python_probe._anonymous_tls(True), python_probe._anonymous_tls(False)
    ends = python_probe._tls_pair(server, client, opened)
    yield ends
    for end in opened:
        end.close()


def _left_by_a_failed_socket_call():
    """What OpenSSL >= 3.4 leaves on the thread's queue when a peer went away: ERR_raise(ERR_LIB_SYS, EPIPE)."""
    crypto = ctypes.CDLL(_ssl.__file__)
    crypto.ERR_new()
    crypto.ERR_set_debug(b"bss_sock.c", 1, b"sock_write")
    crypto.ERR_set_error(ERR_LIB_SYS, errno.EPIPE, None)


def _read_says(read) -> str:
    try:
        read(1)
    except ssl.SSLWantReadError:
        return "want-read"
    except OSError as err:
        return type(err).__name__
    return "data"


def test_a_stale_error_fails_a_healthy_read_and_the_fix_clears_it_first(restored_ssl, healthy_connection):
    server_end, _client_end = healthy_connection
    _left_by_a_failed_socket_call()
    # Without the fix, OpenSSL's answer to the healthy connection is the other one's error.
    assert _read_says(server_end._sslobj.read) != "want-read"

    assert fix.install() is True
    assert _read_says(server_end.recv) == "want-read"
    _left_by_a_failed_socket_call()
    assert _read_says(server_end.recv) == "want-read"
    _client_end.send(b"x")
    assert server_end.recv(1) == b"x"


def test_every_method_that_reads_the_queue_is_wrapped_once(restored_ssl):
    originals = {(cls, name): getattr(cls, name) for cls, names in fix.METHODS for name in names}
    assert fix.install() is True
    wrapped = {(cls, name): getattr(cls, name) for cls, names in fix.METHODS for name in names}
    assert all(wrapped[key] is not original for key, original in originals.items())
    assert all(wrapped[key].__wrapped__ is original for key, original in originals.items())
    assert fix.install() is True  # a second import (another .pth, a test) wraps nothing again
    assert {(cls, name): getattr(cls, name) for cls, names in fix.METHODS for name in names} == wrapped


def test_without_openssls_function_nothing_is_wrapped(restored_ssl, monkeypatch):
    monkeypatch.setattr(fix, "openssl_err_clear_error", lambda: None)
    before = {(cls, name): getattr(cls, name) for cls, names in fix.METHODS for name in names}
    assert fix.install() is False
    assert {(cls, name): getattr(cls, name) for cls, names in fix.METHODS for name in names} == before
    assert getattr(ssl, fix.MARK) is False


def test_the_function_is_the_one_the_ssl_module_links():
    # The libcrypto of _ssl's own dependencies, not one found on the library path.
    clear = fix.openssl_err_clear_error()
    assert clear is not None
    assert (
        ctypes.cast(clear, ctypes.c_void_p).value
        == ctypes.cast(ctypes.CDLL(_ssl.__file__).ERR_clear_error, ctypes.c_void_p).value
    )
