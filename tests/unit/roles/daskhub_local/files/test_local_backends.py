"""The local target's gateway backends (roles/daskhub_local/files/daskhub_local_backends.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
from types import SimpleNamespace

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import accounts as host_accounts
from support.playbooks import ROOT

_SPEC = importlib.util.spec_from_file_location(
    "daskhub_local_backends", ROOT / "roles/daskhub_local/files/daskhub_local_backends.py"
)
backends = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(backends)


def test_root_and_system_accounts_never_run_a_cluster_of_the_system_backend():
    backend = backends.DaskhubLocalBackend(first_uid=host_accounts.uid_min())
    with pytest.raises(backends.PrivilegedClusterError, match=r"'root' as uid 0 \(root\)"):
        backend.account_uid("root")
    daemon = pwd.getpwnam("daemon").pw_uid
    with pytest.raises(backends.PrivilegedClusterError, match=f"'daemon' as uid {daemon}: a system account"):
        backend.account_uid("daemon")
    nobody = pwd.getpwnam("nobody").pw_uid
    assert nobody >= backend.first_uid
    assert backend.account_uid("nobody") == nobody


def test_a_cluster_of_root_is_refused_before_its_directory_is_made(tmp_path):
    backend = backends.DaskhubLocalBackend(clusters_directory=str(tmp_path))
    cluster = SimpleNamespace(username="root", name="c1", tls_cert=b"cert", tls_key=b"key")
    with pytest.raises(backends.PrivilegedClusterError):
        backend.setup_working_directory(cluster)
    assert list(tmp_path.iterdir()) == []


def test_the_shared_uid_backend_refuses_to_launch_as_root(tmp_path):
    assert os.geteuid() == 0, "the harness runs as root, as CI does"
    backend = backends.DaskhubUnsafeLocalBackend(clusters_directory=str(tmp_path))
    cluster = SimpleNamespace(username="alice", name="c1", state={"workdir": str(tmp_path)})
    with pytest.raises(backends.PrivilegedClusterError, match="'alice' as uid 0"):
        asyncio.run(backend.start_process(cluster, ["true"], {}, "scheduler"))
