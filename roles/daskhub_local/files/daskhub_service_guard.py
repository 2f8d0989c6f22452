# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Runs a hub-managed service so that it ends with the hub that started it.

    python daskhub_service_guard.py COMMAND [ARG ...]

Installed by the daskhub_local role in the prefix's etc/, and put before the
command of each service the local hub manages (the idle culler, the
gateway's exporter, the HTTP redirect; render/local/documents.py).

Why: JupyterHub starts its managed services in sessions of their own, and
stops them as it shuts down. A hub that is killed (SIGKILL, the OOM killer)
does not; supervisord then starts a new hub, which starts new services,
while the old ones live on with the same token: after a few such ends the
host runs several cullers. On Kubernetes the hub's container takes them all
down with it. Here the kernel does: this sets the process's parent-death
signal (prctl PR_SET_PDEATHSIG, kept across exec) to SIGTERM, then becomes
the command.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: daskhub_service_guard.py COMMAND [ARG ...]", file=sys.stderr)
        return 2
    hub = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    if os.getppid() != hub:
        # The hub ended before the signal was set: the kernel will not send it.
        return 0
    os.execvp(argv[0], argv)  # noqa: S606 (the service's own argv, no shell)
    return 127  # not reached: execvp raises where it fails


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
