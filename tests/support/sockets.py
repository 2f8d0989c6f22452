"""Which addresses processes listen on, read from /proc (TCP, IPv4 and IPv6)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

_LISTEN = "0A"


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.rsplit(":", 1)
    raw = bytes.fromhex(host)
    # /proc/net/tcp* stores each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words)), int(port, 16)


def _listening_by_inode() -> dict[str, tuple[str, int]]:
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN:
                found[fields[9]] = _address(fields[1])
    return found


def listening_sockets(pids) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every TCP socket the given processes listen on."""
    by_inode = _listening_by_inode()
    sockets = []
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and link[8:-1] in by_inode:
                sockets.append((pid, *by_inode[link[8:-1]]))
    return sorted(set(sockets))
