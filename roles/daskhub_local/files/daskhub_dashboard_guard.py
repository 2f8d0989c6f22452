# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""A distributed preload: a cluster's HTTP servers answer only its owner and the gateway.

Installed by the daskhub_local role next to dask_gateway_config.py and named
with ``--preload`` in the gateway's scheduler and worker commands (a command
line --preload replaces the ``distributed.*.preload`` config, and dask-gateway
passes its own on the scheduler's command line, so the config cannot carry it).

Why: on the local target every scheduler's dashboard, every worker's HTTP
server (/info, /metrics, ...) and the scheduler's dask-gateway API listen on
a random 127.0.0.1 port, without authentication for the dashboards. Any
local account could scan for them and read another user's cluster. Users
reach their dashboards through the gateway's proxy (``dashboard_link``), so
a connection is accepted only from a socket owned by:

- the cluster's own account (this process's uid): its notebook, and the
  scheduler's /proxy route to its workers;
- root: the gateway and its proxy in the system-accounts mode (LocalBackend
  needs root, and root can read the cluster's certificate anyway).

In the shared-uid mode (UnsafeLocalBackend) the gateway, its proxy and every
user share the clusters' uid, so every local connection of the stack passes:
that mode is one trust domain and the guard only keeps other accounts of the
host out.

A loopback TCP connection carries no credentials of its peer (SO_PEERCRED is
for Unix sockets), but both ends are rows of /proc/net/tcp(6): the peer's
row is the one whose local address is this connection's remote address and
whose remote address is this connection's local address; its uid column is
the account that made the socket. A row with inode 0 belongs to no open
file (closed by its process, e.g. in TIME_WAIT, where the kernel shows uid
0): refused, or a client could close its socket right after sending a
request and pass as root. Anything not found (another host, another network
namespace) is refused with a 403.

Only the standard library and tornado (distributed's own dependency).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys

try:
    from tornado import gen
    from tornado.httpserver import HTTPServer
except ImportError:  # the unit tests import the peer lookup alone; a Dask process has tornado
    gen = HTTPServer = None

logger = logging.getLogger("daskhub.dashboard_guard")

TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
ROOT_UID = 0
REFUSAL = b"Forbidden: this Dask cluster's dashboard is reached through the gateway (cluster.dashboard_link).\n"
# A refused client gets its 403 after its request's head has been read
# (closing with unread data would send a reset that can discard the answer);
# a client that sends nothing is dropped after this long.
REFUSAL_READ_TIMEOUT = 10.0
REFUSAL_READ_MAX = 64 * 1024


def allowed_uids() -> frozenset[int]:
    """The owner of this scheduler or worker (this process) and root (the gateway)."""
    return frozenset({os.getuid(), ROOT_UID})


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as the kernel sees it, an IPv4-mapped IPv6 one as plain IPv4."""
    address = ipaddress.ip_address(value.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _proc_address(field: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """HEXIP:HEXPORT of /proc/net/tcp*: the IP is 32-bit words, each in the host's byte order."""
    host, port = field.rsplit(":", 1)
    raw = bytes.fromhex(host)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return _ip(str(ipaddress.ip_address(raw))), int(port, 16)


def peer_uid(local: tuple, remote: tuple, tables: tuple[str, ...] = TABLES) -> int | None:
    """The uid owning the other end of the TCP connection local <-> remote on this host, or None.

    It reads the same /proc/net/tcp rows as module_utils/host/ports.py
    (listeners and their owners, for the deploy's port checks), on its own:
    this file runs inside every scheduler and worker, in the users' venv,
    where the collection's module_utils are not importable.

    ``local`` and ``remote`` are socket addresses as Python gives them
    (getsockname(), accept()'s address): (host, port[, flowinfo, scope]).
    None when no open socket of this host's network namespace is that end.
    """
    want_local = (_ip(remote[0]), int(remote[1]))
    want_remote = (_ip(local[0]), int(local[1]))
    for table in tables:
        try:
            with open(table, encoding="ascii") as handle:
                lines = handle.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            fields = line.split()
            if len(fields) < 10:
                continue
            if _proc_address(fields[1]) != want_local or _proc_address(fields[2]) != want_remote:
                continue
            if fields[9] == "0":
                return None
            return int(fields[7])
    return None


def connection_allowed(local: tuple, remote: tuple, uids: frozenset[int] | None = None) -> tuple[bool, int | None]:
    """(allowed, the peer's uid or None) for a connection accepted at ``local`` from ``remote``."""
    uid = peer_uid(local, remote)
    return uid is not None and uid in (allowed_uids() if uids is None else uids), uid


async def _refuse(stream) -> None:
    try:
        await gen.with_timeout(
            stream.io_loop.time() + REFUSAL_READ_TIMEOUT,
            stream.read_until(b"\r\n\r\n", max_bytes=REFUSAL_READ_MAX),
        )
        head = (
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(REFUSAL)
        )
        await stream.write(head + REFUSAL)
    except Exception:  # noqa: S110  whatever the peer did, it only gets the door shut
        pass
    finally:
        stream.close()


def _guarded_handle_stream(self, stream, address):
    local = None
    try:
        local = stream.socket.getsockname()
        allowed, uid = connection_allowed(local, address)
    except Exception:  # fail closed: a connection we cannot place is refused
        logger.exception("dashboard guard: cannot find the peer of %s", address)
        allowed, uid = False, None
    if allowed:
        return HTTPServer._daskhub_unguarded_handle_stream(self, stream, address)
    logger.warning("dashboard guard: refused %s (uid %s) at %s", address, uid, local)
    return _refuse(stream)


def install() -> None:
    """Guard every tornado HTTPServer of this process (idempotent: the preload can be imported twice)."""
    if not hasattr(HTTPServer, "_daskhub_unguarded_handle_stream"):
        HTTPServer._daskhub_unguarded_handle_stream = HTTPServer.handle_stream
    HTTPServer.handle_stream = _guarded_handle_stream


def guarded(server) -> bool:
    return type(server).handle_stream is _guarded_handle_stream


# At import: distributed imports its preloads in the scheduler's and the
# worker's __init__, before they start their HTTP servers, so no connection
# is ever accepted unguarded. Only in a Dask process: the peer lookup is
# also imported alone, by the unit tests (tornado comes with distributed).
if HTTPServer is not None and "distributed" in sys.modules:
    install()


def dask_setup(server) -> None:
    """Fail closed: a dashboard that escaped the guard is stopped."""
    http_server = getattr(server, "http_server", None)
    if http_server is None:
        return
    if guarded(http_server):
        logger.info("dashboard guard: HTTP answers only uids %s", sorted(allowed_uids()))
        return
    logger.error("dashboard guard: the HTTP server is not guarded; stopping it")
    http_server.stop()
