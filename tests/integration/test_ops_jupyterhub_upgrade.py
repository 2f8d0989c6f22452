"""playbooks/upgrade.yml on the local target: JupyterHub 4.x -> the pin, across a hub database schema change.

The ``upgraded_stack`` fixture (tests/support/stacks.py) deploys a private
stack at OLD_JUPYTERHUB, makes a user and a token there, and runs the
upgrade; these tests read what it left.
"""

from __future__ import annotations

import os
import pwd
import sqlite3

import pytest
from support.stacks import OLD_JUPYTERHUB, SHARED_UID_ACCOUNT, UPGRADED_STACK
from support.versions import local_versions

pytestmark = [pytest.mark.stack, UPGRADED_STACK]


def test_the_upgrade_crosses_a_database_schema_change(upgraded_stack):
    # The old hub's schema is older than the pin's: the hub migrated the database.
    assert upgraded_stack.head_before != upgraded_stack.head_after
    assert upgraded_stack.old_revision == upgraded_stack.head_before
    assert upgraded_stack.new_revision == upgraded_stack.head_after


def test_no_secret_in_the_vvv_output(upgraded_stack):
    for name, value in upgraded_stack.stack.secrets().items():
        assert value not in upgraded_stack.output, f"{name} leaked into the -vvv output"


def test_hub_runs_the_pinned_version(upgraded_stack):
    pinned = str(local_versions()["jupyterhub"])
    assert upgraded_stack.stack.hub_version() == pinned
    assert f"JupyterHub {OLD_JUPYTERHUB} -> {pinned}" in upgraded_stack.output.replace("\n", " ")


def test_users_and_tokens_survive(upgraded_stack):
    stack = upgraded_stack.stack
    status, users = stack.api("GET", "/users")
    assert status == 200
    assert {"admin", "alice", "bob", "carol"} <= {u["name"] for u in users}
    status, me = stack.api("GET", "/user", token=upgraded_stack.user_token)
    assert status == 200
    assert me["name"] == "alice"


def test_the_database_was_backed_up_first(upgraded_stack):
    backups = sorted((upgraded_stack.stack.prefix / "state/backups").glob("jupyterhub-*.sqlite"))
    assert backups, "no hub database backup"
    assert oct(backups[-1].stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(backups[-1]) as db:
        names = {row[0] for row in db.execute("select name from users")}
        revision = db.execute("select version_num from alembic_version").fetchone()[0]
    assert "carol" in names, "the backup was not taken from the live database before the upgrade"
    # Taken before the migration: a 4.x hub can start from it again.
    assert revision == upgraded_stack.old_revision
    assert sorted((upgraded_stack.stack.prefix / "state/backups").glob("dask_gateway-*.sqlite"))


def _owner(pid):
    return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name


def test_gateway_works_after_the_upgrade_and_nothing_users_reach_runs_as_root(upgraded_stack):
    """The shared-uid mode, opted in as root: hub, gateway, proxies and the clusters run as the service account."""
    stack = upgraded_stack.stack
    name = stack.start_cluster("bob")
    try:
        owners = {cmdline: _owner(pid) for pid, cmdline in stack.processes()}
        supervisor = [cmd for cmd in owners if "supervisord" in cmd]
        assert supervisor, owners  # root: it starts the services as the account
        scheduler = [cmd for cmd in owners if "dask scheduler" in cmd or "distributed.cli.dask_scheduler" in cmd]
        worker = [cmd for cmd in owners if "dask worker" in cmd or "distributed.cli.dask_worker" in cmd]
        assert scheduler and worker, f"bob's cluster is not among the stack's processes: {owners}"
        as_root = {cmd: who for cmd, who in owners.items() if who != SHARED_UID_ACCOUNT and cmd not in supervisor}
        assert not as_root, f"processes of the stack not run by {SHARED_UID_ACCOUNT}: {as_root}"
    finally:
        stack.gateway("bob", "stop", name)
    assert stack.clusters_of("bob") == []
