# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target's spawners: JupyterHub's local ones, each server's output in a log file of its own.

Installed by the role daskhub_local into the prefix's etc/ and named by
jupyterhub_config.py (JupyterHub.spawner_class). Runs inside the hub.

Why: the users' servers outlive a hub restart (cleanup_servers=False), but
JupyterHub's LocalProcessSpawner lets them inherit the hub's stdin, stdout
and stderr, i.e. the pipes of the supervisor to that very hub process. After
the hub restarts, nothing reads those pipes any more: the servers' and their
kernels' writes block or fail, so a new kernel in a surviving server died and
an existing one hung on its next cell. Here each server writes to
``<server_log_dir>/<user>.log`` (``<user>:<server>.log`` for a named
server), which outlives any hub, and reads nothing (/dev/null).

The file is opened by the hub (root with system accounts, the service
account in the shared-uid mode, the operator otherwise) and handed to the
server as its stdout and stderr: the server's account never opens it, so it
stays private to the hub's account (mode 0600 in a 0700 directory) and a
user cannot read another user's log. Appended to, never truncated: a
restarted server adds to its log.
"""

from __future__ import annotations

import datetime
import os
import pwd
import subprocess
import urllib.parse

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from traitlets import Integer, Unicode

LOG_FILE_MODE = 0o600
LOG_DIR_MODE = 0o700


def server_log_name(user_name: str, server_name: str = "") -> str:
    """The log file's name: the user's (and the named server's) name, escaped so that neither can leave the directory.

    ``:`` never appears in an escaped name, so no two servers share a file.
    """
    name = urllib.parse.quote(user_name, safe="@~")
    if server_name:
        name += ":" + urllib.parse.quote(server_name, safe="@~")
    return name + ".log"


def open_server_log(directory: str, user_name: str, server_name: str = "") -> int:
    """A write-only, appending descriptor of the server's log file, created 0600 if new."""
    os.makedirs(directory, LOG_DIR_MODE, exist_ok=True)
    path = os.path.join(directory, server_log_name(user_name, server_name))
    # O_NOFOLLOW: the hub may be root; a link planted in its place is refused, not followed.
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, LOG_FILE_MODE)
    try:
        # A file left with a looser mode (by hand, or by an older release) is tightened.
        os.fchmod(fd, LOG_FILE_MODE)
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        os.write(fd, f"--- {started} the hub starts this server ---\n".encode())
    except BaseException:
        os.close(fd)
        raise
    return fd


class PrivilegedServerError(PermissionError):
    """A user's server would run with a privileged uid."""


class DaskhubLocalProcessSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose servers write to a log file of their own (see the module docstring).

    It never starts a server as root or as a system account (below the
    host's UID_MIN, which the play renders as first_uid): the model and the
    preflight refuse such hub users before a deploy, but one can still be
    added later (by an admin, or user sync), and the server is checked here,
    where it starts.
    """

    first_uid = Integer(
        1000,
        help="The host's UID_MIN: accounts below it are the system's, never a hub user's.",
    ).tag(config=True)

    server_log_dir = Unicode(
        "",
        help="Directory of the servers' log files; empty leaves them on the hub's own output.",
    ).tag(config=True)

    def server_uid(self) -> int:
        """The uid the server runs as: the hub user's account of the same name."""
        return pwd.getpwnam(self.user.name).pw_uid

    def lowest_uid(self) -> int:
        return self.first_uid

    def refuse_privileged(self) -> None:
        uid = self.server_uid()
        if uid == 0:
            raise PrivilegedServerError(f"refusing to start the server of {self.user.name!r} as uid 0 (root)")
        if uid < self.lowest_uid():
            raise PrivilegedServerError(
                f"refusing to start the server of {self.user.name!r} as uid {uid}: a system account "
                f"(below UID_MIN {self.first_uid}), not one made for a hub user"
            )

    async def start(self):
        self.refuse_privileged()
        if not self.server_log_dir:
            return await super().start()
        fd = open_server_log(self.server_log_dir, self.user.name, self.name)
        configured = self.popen_kwargs
        # LocalProcessSpawner.start merges popen_kwargs into its Popen call,
        # which it makes before its first await: the descriptor is only
        # needed until then, and the server keeps its own copy.
        self.popen_kwargs = {**configured, "stdin": subprocess.DEVNULL, "stdout": fd, "stderr": subprocess.STDOUT}
        try:
            return await super().start()
        finally:
            self.popen_kwargs = configured
            os.close(fd)


class DaskhubSimpleLocalProcessSpawner(DaskhubLocalProcessSpawner, SimpleLocalProcessSpawner):
    """SimpleLocalProcessSpawner (every server as the hub's account) with the same log files.

    The shared-uid mode's service account is a system account: only uid 0 is refused.
    """

    def server_uid(self) -> int:
        return os.geteuid()

    def lowest_uid(self) -> int:
        return 1
