"""Who listens on a TCP port of this host: /proc/net/tcp(6) and the processes' socket descriptors.

Standard library only, like host/processes.py (which reads the processes
themselves); local_preflight, local_supervisord and the tests ask here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys

from ansible_collections.daskhub.deploy.plugins.module_utils.host.processes import PROC

TCP_TABLES = (f"{PROC}/net/tcp", f"{PROC}/net/tcp6")
LISTEN = "0A"  # the st column of a listening socket


def _address(field: str) -> tuple[str, int]:
    """HEXIP:HEXPORT of /proc/net/tcp*: the IP is 32-bit words, each in the host's byte order."""
    host, port = field.rsplit(":", 1)
    raw = bytes.fromhex(host)
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(raw)), int(port, 16)


def tcp_listeners() -> dict[str, tuple[str, int]]:
    """{socket inode: (address, port)} of every TCP socket listening on this host (IPv4 and IPv6)."""
    found = {}
    for table in TCP_TABLES:
        try:
            with open(table, encoding="ascii") as handle:
                lines = handle.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN:
                found[fields[9]] = _address(fields[1])
    return found


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on TCP ``port`` (IPv4 and IPv6); {"unknown"} without /proc when it is taken."""
    inodes = {inode for inode, (_unused, listening) in tcp_listeners().items() if listening == port}
    if not inodes and _bind_fails(port):
        inodes.add("unknown")
    return inodes


def _bind_fails(port: int) -> bool:
    """Without /proc: a listener exists when binding the wildcard fails."""
    if os.path.exists(TCP_TABLES[0]):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return True
    return False


def socket_inodes(pid: int) -> set[str] | None:
    """The inodes of the sockets process ``pid`` holds open; None when its descriptors cannot be read."""
    fd_dir = f"{PROC}/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return None
    inodes = set()
    for fd in fds:
        # An fd can close between listdir and readlink (listdir's own does).
        with contextlib.suppress(OSError):
            link = os.readlink(os.path.join(fd_dir, fd))
            if link.startswith("socket:[") and link.endswith("]"):
                inodes.add(link[len("socket:[") : -1])
    return inodes


def processes_with_sockets(inodes: set[str]):
    """(pid, command line) of each process holding one of the socket ``inodes``."""
    try:
        pids = [entry for entry in os.listdir(PROC) if entry.isdigit()]
    except OSError:
        return
    for pid in pids:
        if not (socket_inodes(int(pid)) or set()) & inodes:
            continue
        try:
            with open(f"{PROC}/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            cmdline = "?"
        yield int(pid), cmdline


def port_holders(port: int) -> str | None:
    """Who listens on TCP ``port``, for a message: None when nobody does."""
    inodes = listening_inodes(port)
    if not inodes:
        return None
    holders = [f"process {pid} ({cmdline[:160]})" for pid, cmdline in processes_with_sockets(inodes)]
    return ", ".join(holders) or "a process this user cannot inspect"


def port_owner(port: int, prefix: str) -> str | None:
    """Who listens on a TCP port: None (free), "ours" or a description.

    "ours" means a process whose command line mentions the prefix, i.e. the
    services of this very installation, so a re-run does not trip over them.
    """
    inodes = listening_inodes(port)
    if not inodes:
        return None
    prefix = os.path.abspath(prefix)
    for pid, cmdline in processes_with_sockets(inodes):
        if prefix in cmdline:
            return "ours"
        return f"process {pid} ({cmdline[:120]})"
    return "a process this user cannot inspect"
