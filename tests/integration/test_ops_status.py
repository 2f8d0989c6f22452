"""playbooks/status.yml on the upgraded stack: users, alice's server and cluster; a stopped gateway fails it."""

from __future__ import annotations

import re

import pytest
from support.browser import Browser
from support.playbooks import recap
from support.stacks import UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK]


USER = "alice"
NEW_CLUSTER = (
    "from dask_gateway import GatewayCluster\n"
    "cluster = GatewayCluster(worker_cores=1, worker_memory=2)\n"
    "client = cluster.get_client()\n"
    "cluster.scale(1)\n"
    "client.wait_for_workers(1, timeout=240)\n"
    "print(len(client.scheduler_info()['workers']))\n"
)


@pytest.fixture(scope="module")
def alices_cluster(upgraded_site):
    """alice logs in through the hub's form, starts her server and makes a one-worker cluster in her kernel."""
    browser = Browser(upgraded_site.hub_url)
    browser.login(USER, upgraded_site.secrets()["dummy_password"])
    browser.start_server(USER)
    kernel = browser.kernel(USER)
    try:
        assert kernel.execute(NEW_CLUSTER, timeout=300).strip() == "1"
        yield browser, kernel
    finally:
        browser.end_session(USER, kernel)


def test_status_shows_users_alices_server_and_her_cluster(upgraded_site, alices_cluster):
    proc = upgraded_site.playbook("playbooks/status.yml")
    out = re.sub(r"\n\s+(?![-\s])", " ", proc.stdout)  # the YAML callback wraps long lines
    for name in ("hub", "proxy", "gateway", "supervisord:jupyterhub", "supervisord:dask-gateway"):
        assert re.search(rf"{re.escape(name)}\s+up\b", out), out[-5000:]
    versions = r"versions: dask [0-9.]+, dask-gateway-server [0-9.]+, distributed [0-9.]+, jupyterhub [0-9.]+"
    assert re.search(versions, out), out[-5000:]
    assert re.search(r"users: \d+ \(1 admins\); servers: \d+ running: [^\n]*\balice\b", out)
    assert re.search(r"alice: 1 cluster\(s\), 1 worker\(s\), 1 cores, 2 GiB", out)
    assert "last user sync: " in out
    assert "last backup: never" in out
    assert "certificate: none (the hub is served over plain http)" in out
    assert recap(proc.stdout)["changed"] == 0
    for name, value in upgraded_site.secrets().items():
        assert value not in out, f"{name} is in status.yml's output"


def test_a_stopped_gateway_fails_the_status_and_a_restarted_one_makes_clusters(upgraded_site, alices_cluster):
    browser, _ = alices_cluster
    assert upgraded_site.ctl("stop", "dask-gateway").returncode == 0
    try:
        proc = upgraded_site.playbook("playbooks/status.yml", check=False)
        assert proc.returncode != 0
        assert "gateway is down" in proc.stdout
        assert "supervisord:dask-gateway is down: STOPPED" in proc.stdout
    finally:
        upgraded_site.ctl("start", "dask-gateway")
        upgraded_site.wait_for(upgraded_site.healthy, timeout=90, what="the gateway back")
    # A new kernel makes a new cluster through the restarted gateway.
    kernel = browser.kernel(USER)
    try:
        assert kernel.execute(NEW_CLUSTER, timeout=300).strip() == "1"
        kernel.execute("cluster.shutdown()", timeout=120)
    finally:
        kernel.shutdown()
