"""Clusters whose owner is no longer a hub user (plugins/module_utils/dask_clusters.py).

The gateway database is made with dask-gateway-server's own table
definitions (backends/db_base.py) and JobStatus values, as the local
target's gateway writes it. The full path (user sync, clusters.yml) runs
against a deployed stack in tests/integration/test_removed_user_clusters.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from ansible_collections.daskhub.deploy.plugins.filter.dask_clusters import FilterModule
from ansible_collections.daskhub.deploy.plugins.module_utils import dask_clusters as dc
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


class RecordingGateway(dc.GatewayClusters):
    """Records who each DELETE is sent as, instead of sending it."""

    def __init__(self):
        super().__init__(hub=None, gateway_url="http://127.0.0.1:9/services/dask-gateway")
        self.calls = []

    def _request(self, method, path, user, as_admin=False):
        self.calls.append((method, path, user, as_admin))
        return 204, None


def test_orphans_are_stopped_as_the_hub_admin_and_the_others_as_their_owner():
    gateway = RecordingGateway()
    stopped = gateway.stop(
        [{"name": "c-alice", "user": "alice", "orphaned": False}, {"name": "c-bob", "user": "bob", "orphaned": True}],
        admin="admin",
    )
    assert stopped == ["c-alice", "c-bob"]
    assert gateway.calls == [
        ("DELETE", "/api/v1/clusters/c-alice", "alice", False),
        ("DELETE", "/api/v1/clusters/c-bob", "admin", True),
    ]
    assert gateway.admin_token_scopes("admin") == ["access:services!service=dask-gateway", "read:users!user=admin"]


def test_an_orphan_without_a_hub_admin_is_a_clear_error():
    with pytest.raises(dc.ClustersError, match="only a hub admin may stop it"):
        RecordingGateway().stop([{"name": "c-bob", "user": "bob", "orphaned": True}], admin=None)


class MintingHub:
    """Records the tokens a GatewayClusters mints and revokes (the hub's part is tested on a real stack)."""

    def __init__(self):
        self.minted, self.revoked = [], []

    def create_token(self, user, note=None, expires_in=None, scopes=None):
        self.minted.append((user, scopes))
        return {"token": f"token-{len(self.minted)}", "id": str(len(self.minted))}

    def revoke_token(self, user, token_id):
        self.revoked.append((user, token_id))


def test_an_admin_lists_with_its_own_token_and_stops_orphans_with_another():
    hub = MintingHub()
    gateway = dc.GatewayClusters(hub, "http://127.0.0.1:9/services/dask-gateway")
    own, as_admin = gateway._token("admin"), gateway._token("admin", as_admin=True)
    assert own != as_admin
    assert gateway._token("admin") == own
    assert hub.minted == [
        ("admin", ["access:services!service=dask-gateway"]),
        ("admin", ["access:services!service=dask-gateway", "read:users!user=admin"]),
    ]
    assert gateway.revoke_tokens() == []
    assert sorted(hub.revoked) == [("admin", "1"), ("admin", "2")]
