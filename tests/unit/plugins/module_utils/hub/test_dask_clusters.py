"""Unit tests of the cluster listing and selection logic (plugins/module_utils/hub/dask_clusters.py).

The DaskCluster and Pod objects below have the shape dask-gateway-server's
Kubernetes backend creates (make_cluster_object, the controller's labels) and
kubernetes.core.k8s_info returns. The gateway path runs against a real stack
in tests/integration/test_ops_clusters.py.
"""

from __future__ import annotations

import datetime

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.daskhub.deploy.plugins.filter.dask_clusters import FilterModule
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import dask_clusters as dc
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.gateway_clusters import clusters_run

NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=datetime.UTC).timestamp()


def daskcluster(name, user, created, phase="Running", replicas=2, namespace="daskhub"):
    obj = {
        "apiVersion": "gateway.dask.org/v1alpha1",
        "kind": "DaskCluster",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": created,
            "labels": {"gateway.dask.org/instance": "dhub-dask-gateway", "gateway.dask.org/cluster": name},
        },
        "spec": {"username": user, "options": {"worker_cores": 1}, "config": {}, "replicas": replicas},
    }
    if phase is not None:
        obj["status"] = {"phase": phase}
    return obj


def pod(cluster, component, phase="Running"):
    return {
        "metadata": {"labels": {"gateway.dask.org/cluster": cluster, "app.kubernetes.io/component": component}},
        "status": {"phase": phase},
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        ("90", 90.0),
        ("45s", 45.0),
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("1H 30M", 5400.0),
        ("1w", 604800.0),
        ("0.5h", 1800.0),
    ],
)
def test_parse_duration(text, seconds):
    assert dc.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "two hours", "2x", "h", "-5", True, -1, "1h-"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="duration"):
        dc.parse_duration(text)


def test_from_kubernetes_users_ages_and_running_workers():
    clusters = [
        daskcluster("aaa", "alice", "2026-03-01T09:00:00Z"),
        daskcluster("bbb", "bob", "2026-03-01T11:50:00Z", phase="Pending", replicas=0),
        daskcluster("ccc", "carol", "2026-02-28T12:00:00Z", phase="Stopped"),
        # The controller has not written a status yet: the gateway calls it Pending.
        daskcluster("ddd", "dave", "2026-03-01T11:59:00Z", phase=None, replicas=0),
    ]
    pods = [
        pod("aaa", "dask-scheduler"),
        pod("aaa", "dask-worker"),
        pod("aaa", "dask-worker"),
        pod("aaa", "dask-worker", phase="Pending"),
        pod("bbb", "dask-scheduler", phase="Pending"),
    ]
    records = dc.from_kubernetes(clusters, pods, now=NOW)
    by_name = {r["resource_name"]: r for r in records}
    assert sorted(by_name) == ["aaa", "bbb", "ddd"], "stopped clusters are not listed"
    assert by_name["aaa"]["name"] == "daskhub.aaa"  # the gateway's own name: <namespace>.<name>
    assert by_name["aaa"]["user"] == "alice"
    assert by_name["aaa"]["status"] == "RUNNING"
    assert by_name["aaa"]["age_seconds"] == 3 * 3600
    assert by_name["aaa"]["started"] == "2026-03-01T09:00:00Z"
    assert by_name["aaa"]["workers"] == 2, "only Running worker pods count; the scheduler is not a worker"
    assert by_name["aaa"]["replicas"] == 2
    assert by_name["aaa"]["namespace"] == "daskhub"
    assert by_name["bbb"]["status"] == "PENDING"
    assert by_name["bbb"]["workers"] == 0
    assert by_name["ddd"]["status"] == "PENDING"


def test_from_kubernetes_include_stopped():
    clusters = [daskcluster("ccc", "carol", "2026-02-28T12:00:00Z", phase="Stopped")]
    assert dc.from_kubernetes(clusters, now=NOW) == []
    (record,) = dc.from_kubernetes(clusters, now=NOW, include_stopped=True)
    assert record["status"] == "STOPPED"
    assert record["age_seconds"] == 86400


def test_from_gateway_converts_milliseconds():
    listing = {
        "c1": {"name": "c1", "status": "RUNNING", "start_time": int((NOW - 600) * 1000), "options": {"a": 1}},
        "c0": {"name": "c0", "status": "PENDING", "start_time": None, "options": {}},
    }
    records = dc.from_gateway("alice", listing, now=NOW)
    assert [r["name"] for r in records] == ["c0", "c1"]
    assert records[0]["age_seconds"] is None
    assert records[1]["age_seconds"] == 600
    assert records[1]["user"] == "alice"
    assert records[1]["options"] == {"a": 1}
    assert records[1]["workers"] is None, "the gateway listing has no worker count"


CLUSTERS = [
    {"name": "old-alice", "user": "alice", "age_seconds": 7200},
    {"name": "new-alice", "user": "alice", "age_seconds": 60},
    {"name": "old-bob", "user": "bob", "age_seconds": 90000},
    {"name": "unknown-bob", "user": "bob", "age_seconds": None},
]


def names(clusters):
    return sorted(c["name"] for c in clusters)


def test_select_nothing_without_a_criterion():
    assert dc.select(CLUSTERS) == []
    assert dc.select(CLUSTERS, older_than="", users=[]) == []


def test_select_older_than():
    assert names(dc.select(CLUSTERS, older_than="1h")) == ["old-alice", "old-bob"]
    assert names(dc.select(CLUSTERS, older_than="2h")) == ["old-alice", "old-bob"], "exactly the limit counts"
    assert names(dc.select(CLUSTERS, older_than="1d")) == ["old-bob"]


def test_select_users():
    assert names(dc.select(CLUSTERS, users=["bob"])) == ["old-bob", "unknown-bob"]
    assert dc.select(CLUSTERS, users=["nobody"]) == []


def test_select_both_criteria_narrow():
    assert names(dc.select(CLUSTERS, older_than="1h", users=["alice"])) == ["old-alice"]


def test_select_rejects_a_bad_age_before_anything():
    with pytest.raises(ValueError, match="not a duration"):
        dc.select(CLUSTERS, older_than="soon")


def test_summary_lines():
    lines = dc.summary(
        [
            {"name": "x", "user": "alice", "status": "RUNNING", "age_seconds": 5400, "workers": 2},
            {"name": "y", "user": "bob", "status": "PENDING", "age_seconds": None, "workers": None},
            {"name": "z", "user": "bob", "status": "RUNNING", "age_seconds": 90061, "workers": 0},
        ]
    )
    assert lines == [
        "x  user=alice  status=RUNNING  age=1h30m  workers=2",
        "y  user=bob  status=PENDING  age=?  workers=?",
        "z  user=bob  status=RUNNING  age=1d1h  workers=0",
    ]


def test_filter_plugin_reports_bad_age_as_filter_error():
    filters = FilterModule().filters()
    records = filters["dask_clusters_from_kubernetes"]([daskcluster("aaa", "alice", "2026-03-01T09:00:00Z")])
    assert records[0]["user"] == "alice"
    with pytest.raises(AnsibleFilterError, match="older_than"):
        filters["dask_clusters_select"](records, older_than="later")


def test_a_bad_age_fails_the_run_before_the_hub_is_asked():
    # Nothing listens on the hub's port: asking it would fail with "cannot reach".
    given = {
        "hub_url": "http://127.0.0.1:9",
        "hub_token": "t",
        "validate_certs": True,
        "ca_path": None,
        "gateway_url": "http://127.0.0.1:9/services/dask-gateway",
        "gateway_service": "dask-gateway",
        "older_than": "yesterday",
        "users": [],
        "timeout": 1.0,
        "orphaned": False,
        "gateway_db": None,
    }
    with pytest.raises(dc.ClustersError, match=r"^older_than: not a duration: 'yesterday'"):
        clusters_run(given)
