# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""What the local stack needs of an interpreter, asked BY that interpreter: one JSON line.

``run`` sends this file's source to the interpreter it checks (``python -I -c
<source> [MODULE ...]``): that interpreter is not the module's and has no
collection to import, so this file imports the standard library only. It
fails (ImportError) where the stack cannot run: pip's TLS (ssl), the hub's
database (sqlite3), distributed's ctypes, venv and its pip (ensurepip).
Each MODULE given is imported too (a venv's check that its stack imports).
Then it tells what the preflight, local_venv's stamp and
shared_python.provide need to know, and whether one failed TLS connection
breaks the thread's others (``openssl_error_queue``; host/openssl_error_queue.py).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import subprocess
import sys
import sysconfig

# What the stack needs of the interpreter, imported by the interpreter probed
# (below, under __main__), not by a module that imports this file to send it.
NEEDED = (
    "ctypes",  # distributed's
    "ensurepip",  # a venv's pip
    "sqlite3",  # the hub's database
    "ssl",  # pip's TLS
    "venv",  # the stack's venv
)


def facts() -> dict:
    var = sysconfig.get_config_var
    # The installation's paths, also when run from a venv (whose own prefix is the venv).
    paths = sysconfig.get_paths(
        vars={
            "base": sys.base_prefix,
            "installed_base": sys.base_prefix,
            "platbase": sys.base_exec_prefix,
            "installed_platbase": sys.base_exec_prefix,
        }
    )
    return {
        "version": platform.python_version(),
        "short": f"{sys.version_info[0]}.{sys.version_info[1]}",
        # The whole build string: a rebuilt interpreter of the same version differs here.
        "sys_version": sys.version,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "base_executable": os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable),
        "libdir": var("LIBDIR") or "",
        "instsoname": var("INSTSONAME") or "",
        "ldlibrary": var("LDLIBRARY") or "",
        "shared": bool(var("Py_ENABLE_SHARED")),
        "stdlib": paths["stdlib"],
        "platstdlib": paths["platstdlib"],
        "include": paths["include"],
        # Where this interpreter (a venv's: its own) installs packages and reads .pth files.
        "purelib": sysconfig.get_paths()["purelib"],
        "openssl": importlib.import_module("ssl").OPENSSL_VERSION,
        "openssl_error_queue": openssl_error_queue(),
    }


# ssl and socket are imported where they are used: a module that imports
# this file to send it does not import what the probe checks.


def _anonymous_tls(server_side: bool):
    import ssl  # noqa: PLC0415

    # No certificate to make or ship: TLS 1.2's anonymous suites, which OpenSSL
    # offers at security level 0 only. Between the two ends of a socket pair.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    if not server_side:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("aNULL:@SECLEVEL=0")
    return context


def _tls_pair(server, client, opened: list) -> tuple:
    import socket  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    ends = socket.socketpair()
    opened.extend(ends)
    for end in ends:
        end.setblocking(False)
    tls = [
        server.wrap_socket(ends[0], server_side=True, do_handshake_on_connect=False),
        client.wrap_socket(ends[1], do_handshake_on_connect=False),
    ]
    opened.extend(tls)
    waiting = list(tls)
    for _round in range(100):
        for end in list(waiting):
            try:
                end.do_handshake()
                waiting.remove(end)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        if not waiting:
            return tuple(tls)
    raise ssl.SSLError("the two ends did not finish their handshake")


def _says_want_read(read) -> bool:
    import ssl  # noqa: PLC0415

    try:
        read(1)
    except ssl.SSLWantReadError:
        return True
    except OSError:
        return False
    return False


def openssl_error_queue() -> dict:
    """Whether a failed TLS connection makes the thread's healthy ones fail too.

    CPython gh-148594 with OpenSSL >= 3.4 (plugins/files/python/
    daskhub_openssl_error_queue.py says why). Two TLS connections on socket
    pairs; the first one's peer goes away and a write on it fails; then a
    read with nothing to read on the second, which must say SSLWantReadError:
    ``leaks`` when OpenSSL's own answer (the C object's read) is an error;
    ``cleared`` when the public read (which that file wraps) says
    SSLWantReadError all the same. Both None where the check cannot run
    (an OpenSSL without anonymous suites).
    """
    opened: list = []
    try:
        server, client = _anonymous_tls(True), _anonymous_tls(False)
        failed, failed_peer = _tls_pair(server, client, opened)
        healthy = _tls_pair(server, client, opened)[0]
        failed_peer.close()
        for _attempt in range(3):
            try:
                failed.send(b"x" * 64)
            except OSError:
                break
        return {"leaks": not _says_want_read(healthy._sslobj.read), "cleared": _says_want_read(healthy.recv)}
    except (OSError, ValueError, AttributeError):  # AttributeError: an ssl module too old to ask (< 3.7)
        return {"leaks": None, "cleared": None}
    finally:
        for end in opened:
            end.close()


def _own_source() -> str:
    """This file's text, as its loader has it: a file, or the zip of a module Ansible runs.

    Not inspect.getsource: that reads through linecache, which two threads
    asking at once (local_venv asks two interpreters together) can leave
    without the source of a file that comes from a zip.
    """
    module = sys.modules[__name__]
    return module.__spec__.loader.get_source(module.__name__)


def run(python, account=None, modules=()):
    """(facts about ``python``, None) or (None, why it failed), run as ``account`` (uid, gid) if given.

    ``modules`` are imported by it first: the first that fails is the reason.
    """
    switch = {}
    if account is not None and account[0] != os.geteuid():
        switch = {"user": account[0], "group": account[1], "extra_groups": []}
    try:
        result = subprocess.run(
            [python, "-I", "-c", _own_source(), *modules],
            capture_output=True,
            text=True,
            cwd="/",
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
            timeout=120,
            check=False,
            **switch,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return None, lines[-1] if lines else f"exit status {result.returncode}"
    try:
        return json.loads(result.stdout.strip().splitlines()[-1]), None
    except (ValueError, IndexError):
        return None, f"unexpected output: {result.stdout.strip()[-300:]!r}"


if __name__ == "__main__":
    for name in (*NEEDED, *sys.argv[1:]):
        importlib.import_module(name)
    print(json.dumps(facts()))
