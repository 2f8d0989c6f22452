"""Dask clusters of the users user sync removes, on a deployed local target (issue 11, item 6).

The probe: a user removed by user sync kept their Dask clusters (the
processes stayed alive), and clusters.yml no longer listed them. Now user
sync stops them (daskhub_user_sync_removed_user_clusters: stop, the
default) or leaves and reports them (report), and clusters.yml lists the
clusters whose owner is gone and stops them with -e orphaned=true.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]
KEPT = ["alice"]


@pytest.fixture(scope="module")
def stack(local_stack):
    return local_stack


@pytest.fixture
def bob_restored(stack):
    """bob is a hub user again after the test (user sync from the inventory)."""
    yield "bob"
    stack.playbook("playbooks/user-sync.yml")
    status, _ = stack.api("GET", "/users/bob")
    assert status == 200


def cluster_pids(stack, name):
    """Processes of the cluster ``name``: the local backend runs each in its own directory named after it."""
    pids = []
    for pid, cmdline in stack.processes():
        try:
            cwd = os.readlink(Path("/proc", str(pid), "cwd"))
        except OSError:
            continue
        if name in cmdline or name in cwd:
            pids.append(pid)
    return pids


def output(proc):
    """The play's output with whitespace runs as one space: the YAML callback folds long lines."""
    return " ".join(proc.stdout.split())


def sync_without_bob(stack, *args):
    return output(stack.playbook("playbooks/user-sync.yml", "-e", json.dumps({"daskhub_users": KEPT}), *args))


def test_user_sync_stops_the_clusters_of_the_users_it_removes(stack, bob_restored):
    name = stack.start_cluster("bob")
    assert cluster_pids(stack, name), "the cluster's processes were not found"

    out = sync_without_bob(stack)

    assert stack.api("GET", "/users/bob")[0] == 404
    assert "1 Dask cluster(s) of users to remove; stopped: " + name in out
    stack.wait_for(lambda: not cluster_pids(stack, name), timeout=120, what=f"the processes of {name} to end")


def test_report_leaves_them_and_clusters_yml_lists_and_stops_them(stack, bob_restored):
    name = stack.start_cluster("bob")

    out = sync_without_bob(stack, "-e", "daskhub_user_sync_removed_user_clusters=report")

    assert stack.api("GET", "/users/bob")[0] == 404
    assert "1 Dask cluster(s) of users to remove; left running" in out
    assert cluster_pids(stack, name), "report mode stopped the cluster"

    listing = output(stack.playbook("playbooks/clusters.yml"))
    assert f"{name} user=bob status=RUNNING" in listing
    assert "(owner is no longer a hub user)" in listing
    assert cluster_pids(stack, name), "listing stopped the cluster"

    stopped = output(stack.playbook("playbooks/clusters.yml", "-e", "orphaned=true"))
    assert f"Stopped 1: {name}" in stopped
    stack.wait_for(lambda: not cluster_pids(stack, name), timeout=120, what=f"the processes of {name} to end")
