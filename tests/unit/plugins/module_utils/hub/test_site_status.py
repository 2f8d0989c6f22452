"""The status of a site (plugins/module_utils/hub/status.py and status_kubernetes.py): its pieces and its table.

The gateway database is made with dask-gateway-server's own tables, down
services are ports nothing listens on; the certificate's expiry is read by
the transport (test_transport.py). The local target's whole path runs on the shared stack in
tests/integration/test_ops_status.py.
"""

from __future__ import annotations

import datetime
import json

import pytest
import sqlalchemy as sa
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status, status_report
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status_kubernetes as k8s
from dask_gateway_server.backends import db_base
from support.stacks import free_port

NOW = 1_800_000_000.0
GIB = 2**30


@pytest.fixture
def gateway_db(tmp_path):
    """alice: a running cluster with a running, a starting and a closing worker; bob: pending; carol: stopped."""
    path = tmp_path / "dask_gateway.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    db_base.metadata.create_all(engine)
    config = {"worker_cores": 2, "worker_memory": 4 * GIB}
    clusters = [
        ("c-alice", "alice", db_base.JobStatus.RUNNING),
        ("c-bob", "bob", db_base.JobStatus.SUBMITTED),
        ("c-carol", "carol", db_base.JobStatus.STOPPED),
    ]
    with engine.begin() as connection:
        for index, (name, user, job) in enumerate(clusters):
            connection.execute(
                db_base.clusters.insert().values(
                    name=name, username=user, status=job, target=job, count=0, options={}, config=config,
                    state={}, token=bytes([index]) * 140, scheduler_address="", dashboard_address="",
                    api_address="", tls_credentials=b"", start_time=int((NOW - 600) * 1000), stop_time=None,
                )
            )
        for name, job in (("w1", db_base.JobStatus.RUNNING), ("w2", db_base.JobStatus.SUBMITTED),
                          ("w3", db_base.JobStatus.CLOSING)):
            connection.execute(
                db_base.workers.insert().values(
                    name=name, cluster_id=1, status=job, target=job, state={}, start_time=int(NOW * 1000),
                    stop_time=None, close_expected=0,
                )
            )
    engine.dispose()
    return path


def test_clusters_come_from_the_gateway_database_with_running_workers_cores_and_memory(gateway_db):
    records = status.clusters_from_gateway_db(str(gateway_db), now=NOW)
    assert [(r["name"], r["user"], r["status"], r["workers"], r["cores"], r["memory_bytes"]) for r in records] == [
        ("c-alice", "alice", "RUNNING", 2, 4.0, 8 * GIB),
        ("c-bob", "bob", "PENDING", 0, 0.0, 0),
    ]
    assert status.per_user(records)[0] == {
        "user": "alice", "clusters": 1, "workers": 2, "cores": 4.0, "memory_bytes": 8 * GIB,
    }


def _write(path, document):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))


def test_last_runs_their_age_and_staleness(tmp_path):
    stamp = datetime.datetime.fromtimestamp(NOW - 7200, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _write(tmp_path / status.USER_SYNC_STATE, {"time": stamp, "ok": True, "summary": "3 users before"})
    entry = status.last_run(tmp_path / status.USER_SYNC_STATE, status.limit("1h", "max"), NOW)
    assert (entry["found"], entry["ok"], entry["age_seconds"], entry["stale"]) == (True, True, 7200, True)
    assert status_report.stale_problem("user sync", entry) == "the last user sync was 2h0m ago, more than 1h0m"
    assert not status.last_run(tmp_path / status.USER_SYNC_STATE, status.limit("3h", "max"), NOW)["stale"]
    never = status.last_run(tmp_path / status.BACKUP_STATE, None, NOW)
    assert (never["found"], never["stale"]) == (False, False)
    assert status.last_run(tmp_path / status.BACKUP_STATE, 60, NOW)["stale"]
    _write(tmp_path / status.BACKUP_STATE, {"time": stamp, "ok": False, "path": "/b"})
    failed = status.last_run(tmp_path / status.BACKUP_STATE, 86400, NOW)
    assert failed["stale"] and status_report.stale_problem("backup", failed) == "the last backup failed (2h0m ago)"
    with pytest.raises(ValueError, match="max_backup_age: not a duration"):
        status.limit("soon", "max_backup_age")


def _pod(labels, ready=True, phase="Running", resources=None):
    return {
        "metadata": {"labels": labels, "namespace": "daskhub", "name": "p"},
        "spec": {"containers": [{"resources": resources or {}}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_kubernetes_pods_and_clusters():
    worker = {"app.kubernetes.io/component": "dask-worker", "gateway.dask.org/cluster": "abc"}
    pods = [
        _pod({"component": "hub"}),
        _pod({"component": "proxy"}, ready=False),
        _pod({"app.kubernetes.io/component": "gateway"}),
        _pod({"app.kubernetes.io/component": "controller"}),
        _pod(worker, resources={"limits": {"cpu": "2", "memory": "4G"}}),
        _pod(worker, resources={"requests": {"cpu": "500m", "memory": "1G"}}),
        _pod(worker, phase="Pending", resources={"limits": {"cpu": "2", "memory": "4G"}}),
    ]
    services = {s["name"]: (s["up"], s["detail"]) for s in k8s.pod_services(pods)}
    assert services == {
        "pod:hub": (True, "1/1 pods ready"),
        "pod:proxy": (False, "0/1 pods ready"),
        "pod:gateway": (True, "1/1 pods ready"),
        "pod:gateway-controller": (True, "1/1 pods ready"),
        "pod:gateway-traefik": (False, "no pod"),
    }
    daskcluster = {
        "metadata": {"name": "abc", "namespace": "daskhub", "creationTimestamp": "2027-01-15T07:50:00Z"},
        "spec": {"username": "alice", "replicas": 3},
        "status": {"phase": "Running"},
    }
    [record] = k8s.clusters([daskcluster], pods, now=NOW)
    assert (record["name"], record["user"], record["workers"]) == ("daskhub.abc", "alice", 2)
    assert (record["cores"], record["memory_bytes"]) == (2.5, 5 * GIB)


def test_everything_down_is_reported_and_the_table_says_so(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    params = {
        "target": "local", "hub_url": dead, "hub_internal_url": dead, "gateway_url": dead + "/services/dask-gateway",
        "state_dir": str(tmp_path), "timeout": 2, "programs": ["jupyterhub", "dask-gateway"],
        "max_user_sync_age": 3600.0, "max_backup_age": None,
    }
    result = status.gather(params, hub=None, supervisor_states={"jupyterhub": "RUNNING"}, now=NOW)
    assert [s["name"] for s in result["services"] if not s["up"]] == [
        "hub", "proxy", "gateway", "supervisord:dask-gateway",
    ]
    assert "no user sync on record (the limit is 1h0m)" in result["problems"]
    lines = "\n".join(result["lines"])
    assert "supervisord:dask-gateway" in lines and "not known to the supervisor" in lines
    assert "users: unknown (the hub did not answer)" in lines
    assert "last backup: never" in lines
    assert "certificate: none (the hub is served over plain http)" in lines
    assert "PROBLEM: gateway is down" in lines
