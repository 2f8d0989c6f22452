"""Clusters whose owner is no longer a hub user (plugins/module_utils/hub/dask_clusters.py).

The gateway database is made with dask-gateway-server's own table
definitions (backends/db_base.py) and JobStatus values, as the local
target's gateway writes it. The full path (user sync, clusters.yml) runs
against a deployed stack in tests/integration/test_removed_user_clusters.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from ansible_collections.daskhub.deploy.plugins.filter.dask_clusters import FilterModule
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import dask_clusters as dc
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import gateway_clusters
from dask_gateway_server.backends import db_base

NOW = 1_800_000_000.0


@pytest.fixture
def gateway_db(tmp_path):
    path = tmp_path / "dask_gateway.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    db_base.metadata.create_all(engine)
    rows = [
        ("c-alice", "alice", db_base.JobStatus.RUNNING),
        ("c-bob", "bob", db_base.JobStatus.RUNNING),
        ("c-bob-new", "bob", db_base.JobStatus.SUBMITTED),
        ("c-bob-old", "bob", db_base.JobStatus.STOPPED),
        ("c-carol", "carol", db_base.JobStatus.FAILED),
    ]
    with engine.begin() as connection:
        for index, (name, user, status) in enumerate(rows):
            connection.execute(
                db_base.clusters.insert().values(
                    name=name, username=user, status=status, target=status, count=0, options={}, config={},
                    state={}, token=bytes([index]) * 140, scheduler_address="", dashboard_address="",
                    api_address="", tls_credentials=b"", start_time=int((NOW - 3600) * 1000), stop_time=None,
                )
            )
    engine.dispose()
    return path


def test_active_clusters_of_every_owner_are_read_from_the_gateway_database(gateway_db):
    records = dc.from_gateway_db(str(gateway_db), now=NOW)
    assert [(r["name"], r["user"], r["status"], r["age_seconds"]) for r in records] == [
        ("c-alice", "alice", "RUNNING", 3600),
        ("c-bob", "bob", "RUNNING", 3600),
        ("c-bob-new", "bob", "PENDING", 3600),
    ]


def test_a_missing_gateway_database_is_a_clear_error(tmp_path):
    with pytest.raises(dc.ClustersError, match="gateway database"):
        dc.from_gateway_db(str(tmp_path / "nope.sqlite"))


def test_owners_the_hub_no_longer_has_are_marked_and_selected(gateway_db):
    records = dc.mark_orphaned(dc.from_gateway_db(str(gateway_db), now=NOW), ["alice", "admin"])
    assert [(r["name"], r["orphaned"]) for r in records] == [
        ("c-alice", False),
        ("c-bob", True),
        ("c-bob-new", True),
    ]
    assert [r["name"] for r in dc.select(records, orphaned=True)] == ["c-bob", "c-bob-new"]
    assert dc.select(records) == []
    assert [r["name"] for r in dc.select(records, users=["alice"])] == ["c-alice"]
    assert "(owner is no longer a hub user)" in dc.summary(records)[1]
    assert "(owner" not in dc.summary(records)[0]


def test_without_the_hub_users_nothing_is_marked():
    records = [{"name": "c", "user": "bob"}]
    assert dc.mark_orphaned(records, None) == records
    assert dc.select(records, orphaned=True) == []


def test_the_filters_select_orphans_on_kubernetes_records():
    filters = FilterModule().filters()
    records = filters["dask_clusters_mark_orphaned"]([{"name": "c1", "user": "gone"}, {"name": "c2", "user": "here"}],
                                                     ["here"])
    assert [r["name"] for r in filters["dask_clusters_select"](records, "", [], True)] == ["c1"]


class RecordingHub:
    """Records the calls a GatewayClusters makes to the hub (the hub's part is tested on a real stack)."""

    def __init__(self, users=()):
        self.users = set(users)
        self.calls = []

    def create_users(self, names):
        new = [name for name in names if name not in self.users]
        self.users.update(new)
        self.calls.append(("create", new))
        return [{"name": name} for name in new]

    def delete_user(self, name):
        self.users.discard(name)
        self.calls.append(("delete", name))
        return True

    def create_token(self, user, note=None, expires_in=None, scopes=None):
        assert user in self.users, f"a token for {user}, who is not on the hub"
        self.calls.append(("token", user, scopes))
        return {"token": f"token-{user}", "id": "1"}

    def revoke_token(self, user, token_id):
        self.calls.append(("revoke", user))


class RecordingGateway(gateway_clusters.GatewayClusters):
    """Records who each DELETE is sent as, instead of sending it."""

    def __init__(self, hub):
        super().__init__(hub, "http://127.0.0.1:9/services/dask-gateway")
        self.deletes = []

    def _request(self, method, path, user):
        self._token(user)
        self.deletes.append((method, path, user, user in self.hub.users))
        return 204, None


def test_an_orphan_is_stopped_by_its_owner_recreated_for_the_moment():
    hub = RecordingHub(users=["alice"])
    gateway = RecordingGateway(hub)
    stopped = gateway.stop(
        [{"name": "c-alice", "user": "alice", "orphaned": False}, {"name": "c-bob", "user": "bob", "orphaned": True}]
    )
    assert stopped == ["c-alice", "c-bob"]
    # The gateway lets only the owner stop a cluster: bob exists while his is stopped, and not after.
    assert gateway.deletes == [
        ("DELETE", "/api/v1/clusters/c-alice", "alice", True),
        ("DELETE", "/api/v1/clusters/c-bob", "bob", True),
    ]
    assert hub.users == {"alice"}
    assert [call for call in hub.calls if call[0] in ("create", "delete")] == [("create", ["bob"]), ("delete", "bob")]
    gateway.revoke_tokens()
    assert ("revoke", "alice") in hub.calls


def test_an_owner_that_is_back_on_the_hub_is_not_deleted():
    hub = RecordingHub(users=["bob"])
    RecordingGateway(hub).stop([{"name": "c-bob", "user": "bob", "orphaned": True}])
    assert hub.users == {"bob"}
    assert ("delete", "bob") not in hub.calls
