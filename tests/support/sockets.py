"""Which addresses processes listen on (TCP, IPv4 and IPv6), through the project's one /proc reader (host/ports.py)."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports


def listening_sockets(pids) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every TCP socket the given processes listen on."""
    by_inode = host_ports.tcp_listeners()
    sockets = []
    for pid in pids:
        for inode in host_ports.socket_inodes(pid) or ():
            if inode in by_inode:
                sockets.append((pid, *by_inode[inode]))
    return sorted(set(sockets))
