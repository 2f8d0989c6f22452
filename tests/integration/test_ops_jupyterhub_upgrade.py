"""playbooks/upgrade.yml on the local target: JupyterHub OLD -> pinned, with a backup; users and tokens survive."""

from __future__ import annotations

import sqlite3

import ops_stack
import pytest

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(request):
    return ops_stack.shared(request)


@pytest.fixture(scope="module")
def upgrade(stack):
    if stack.hub_version() != ops_stack.OLD_JUPYTERHUB:
        pytest.skip(f"the shared stack is not at JupyterHub {ops_stack.OLD_JUPYTERHUB} any more")
    status, _ = stack.api("POST", "/users", body={"usernames": ["carol"]})
    assert status == 201
    token = stack.user_token("alice", scopes=["read:users:name!user"])
    proc = stack.playbook("playbooks/upgrade.yml", "-vvv")
    return {"token": token, "out": proc.stdout}


def test_no_secret_in_the_vvv_output(stack, upgrade):
    for name, value in stack.secrets().items():
        assert value not in upgrade["out"], f"{name} leaked into the -vvv output"


def test_hub_runs_the_pinned_version(stack, upgrade):
    assert stack.hub_version() == stack.pinned_jupyterhub
    assert f"JupyterHub {ops_stack.OLD_JUPYTERHUB} -> {stack.pinned_jupyterhub}" in upgrade["out"].replace("\n", " ")


def test_users_and_tokens_survive(stack, upgrade):
    status, users = stack.api("GET", "/users")
    assert status == 200
    assert {"admin", "alice", "bob", "carol"} <= {u["name"] for u in users}
    status, me = stack.api("GET", "/user", token=upgrade["token"])
    assert status == 200
    assert me["name"] == "alice"


def test_the_database_was_backed_up_first(stack, upgrade):
    backups = sorted((stack.prefix / "state/backups").glob("jupyterhub-*.sqlite"))
    assert backups, "no hub database backup"
    assert oct(backups[-1].stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(backups[-1]) as db:
        names = {row[0] for row in db.execute("select name from users")}
    assert "carol" in names, "the backup was not taken from the live database before the upgrade"
    assert sorted((stack.prefix / "state/backups").glob("dask_gateway-*.sqlite"))


def test_gateway_works_after_the_upgrade(stack, upgrade):
    name = stack.start_cluster("bob")
    stack.gateway("bob", f"gateway.stop_cluster({name!r})\n")
    assert stack.clusters_of("bob") == []
