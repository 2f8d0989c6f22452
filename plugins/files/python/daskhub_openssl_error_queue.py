# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Each TLS read and write starts on an empty OpenSSL error queue (CPython gh-148594).

Why: CPython's ssl module calls SSL_read_ex and SSL_write_ex without first
clearing the calling thread's OpenSSL error queue, and SSL_get_error()
looks at that queue before anything else. Since OpenSSL 3.4 a failed socket
call (a peer that went away: EPIPE, ECONNRESET) leaves an ERR_LIB_SYS entry
there, and since CPython 3.12.9 and 3.13.2 (gh-127257) the ssl module
raises that entry as its OSError. So once one connection of a thread has
failed, every later read on that thread that should say "no data yet"
(SSLWantReadError) raises BrokenPipeError or ConnectionResetError instead,
on healthy connections, until something clears the queue; tornado and
asyncio then close them. In a Dask cluster the first client that goes away
(a nanny's registration, a short call from a notebook) makes the
scheduler's other connections fail, and a user's computation ends with
"scheduler-connection-lost". Debian 13 (Python 3.13.5, OpenSSL 3.5) is such
a platform; Debian 12 (OpenSSL 3.0) is not.

What: the methods of ``ssl.SSLSocket`` and ``ssl.SSLObject`` that end in
SSL_get_error (tornado's streams use the first, asyncio's TLS the second)
call OpenSSL's ERR_clear_error() first, as SSL_get_error(3) asks of its
callers. The function is looked up in the libcrypto the ``_ssl`` module was
loaded with, so it clears the queue that module reads.

Where: the local target installs this file into the stack's venv with a
.pth file that imports it and calls ``install()`` (module_utils/host/openssl_error_queue.py), only
on an interpreter where python_probe finds the leak; every process of the
stack then starts with it: the hub, the gateway, the schedulers, nannies and
workers, the users' servers and kernels. Standard library only.
"""

from __future__ import annotations

import ctypes
import functools
import ssl

# The methods that call into OpenSSL and then read its error queue.
METHODS = (
    (ssl.SSLSocket, ("read", "write", "send", "do_handshake", "unwrap")),
    (ssl.SSLObject, ("read", "write", "do_handshake", "unwrap")),
)
# Set on the ssl module once the methods are wrapped: a second import wraps nothing.
MARK = "_daskhub_clears_openssl_errors"


def openssl_err_clear_error():
    """ERR_clear_error of the libcrypto the ssl module runs with, or None where it cannot be found."""
    import _ssl  # noqa: PLC0415 (the C module whose libraries are searched)

    # dlsym on the extension's handle searches its own dependencies too: the
    # libcrypto it was linked with, not another one on the library path. A
    # _ssl built into the interpreter has no file: the process's own symbols.
    try:
        function = ctypes.CDLL(getattr(_ssl, "__file__", None)).ERR_clear_error
    except (OSError, AttributeError):
        return None
    function.argtypes = []
    function.restype = None
    return function


def _clearing_first(method, clear):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        clear()
        return method(self, *args, **kwargs)

    return wrapper


def install() -> bool:
    """Wrap the methods once; False (nothing changed) where ERR_clear_error cannot be found."""
    if getattr(ssl, MARK, False):
        return True
    clear = openssl_err_clear_error()
    if clear is None:
        return False
    for cls, names in METHODS:
        for name in names:
            setattr(cls, name, _clearing_first(getattr(cls, name), clear))
    setattr(ssl, MARK, True)
    return True
