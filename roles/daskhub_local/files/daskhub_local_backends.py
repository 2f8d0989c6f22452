# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target's Dask Gateway backends, loaded by dask_gateway_config.py.

Installed into the prefix's etc/ by the role daskhub_local; its
dask_gateway_config.py puts etc/ on sys.path, and gateway-settings.json
names one of these classes as c.DaskGateway.backend_class.

Both refuse to start a scheduler or a worker as uid 0, whatever the site
model says: the model and the preflight refuse privileged hub users before
a deploy, but an account can change after it (a hub user added by user
sync, an account made by hand), and the process that would run as root is
checked here, where it is launched. The system-accounts backend also
refuses system uids (below the host's UID_MIN, which the play reads with
plugins/module_utils/host/accounts.py and renders as first_uid), which
belong to services.
"""

from __future__ import annotations

import os
import pwd

from dask_gateway_server.backends.local import LocalBackend, UnsafeLocalBackend
from traitlets import Integer


class PrivilegedClusterError(PermissionError):
    """A cluster's processes would run with a privileged uid."""


def refuse_privileged(uid: int, username: str, first_uid: int = 1) -> None:
    """Raise PrivilegedClusterError when a cluster of ``username`` would run as ``uid`` (0, or below ``first_uid``)."""
    if uid == 0:
        raise PrivilegedClusterError(f"refusing to run a Dask cluster of {username!r} as uid 0 (root)")
    if uid < first_uid:
        raise PrivilegedClusterError(
            f"refusing to run a Dask cluster of {username!r} as uid {uid}: a system account "
            f"(below UID_MIN {first_uid}), not one made for a hub user"
        )


class DaskhubLocalBackend(LocalBackend):
    """LocalBackend (a system account per user) that never runs a cluster as root or a system account.

    It also chowns only the cluster's own working directory and files:
    dask-gateway-server 2026.3.0's setup_working_directory adds the TLS file
    paths with list.extend (one entry per character), so running as root it
    chowns "/" to the cluster's user before failing.
    """

    first_uid = Integer(
        1000,
        config=True,
        help="The host's UID_MIN: accounts below it are the system's, never a hub user's.",
    )

    def account_uid(self, username: str) -> int:
        uid = pwd.getpwnam(username).pw_uid
        refuse_privileged(uid, username, self.first_uid)
        return uid

    def setup_working_directory(self, cluster):
        # Before anything is made or chowned for the cluster's account.
        self.account_uid(cluster.username)
        workdir = os.path.join(self.clusters_directory, cluster.name)
        certsdir = self.get_certs_directory(workdir)
        logsdir = self.get_logs_directory(workdir)
        paths = [workdir, certsdir, logsdir]
        for path in paths:
            os.makedirs(path, 0o700, exist_ok=True)
        cert_path, key_path = self._get_tls_paths(workdir)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        for path, data in [(cert_path, cluster.tls_cert), (key_path, cluster.tls_key)]:
            with os.fdopen(os.open(path, flags, 0o600), "wb") as handle:
                handle.write(data)
            paths.append(path)
        self.set_file_permissions(paths, cluster.username)
        return workdir

    async def start_process(self, cluster, cmd, env, name):
        # Again at each launch: the account may have changed since the cluster started.
        self.account_uid(cluster.username)
        return await super().start_process(cluster, cmd, env, name)


class DaskhubUnsafeLocalBackend(UnsafeLocalBackend):
    """UnsafeLocalBackend (every cluster runs as the gateway's own account) that refuses to do so as root.

    The shared-uid mode runs the gateway as an unprivileged service account
    (a system account, so only uid 0 is refused here).
    """

    async def start_process(self, cluster, cmd, env, name):
        refuse_privileged(os.geteuid(), cluster.username)
        return await super().start_process(cluster, cmd, env, name)
