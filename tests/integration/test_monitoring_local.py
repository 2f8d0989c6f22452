"""Monitoring on the local target (issue 21): a real Prometheus scrapes the shared stack.

The module turns daskhub_monitoring_enabled on in the shared stack's
inventory (a group_vars file of its own, kept for the rest of the session so
that a later converge of the stack changes nothing), with short intervals,
and converges once. alice then starts a cluster with two workers from a
kernel of her own server, logged in through the hub's form.
"""

from __future__ import annotations

import csv
import datetime
import json
import time
import urllib.parse
import urllib.request

import pytest
import yaml
from support.browser import Browser
from support.playbooks import ROOT, recap
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]

USER = "alice"
MONITORING = {
    "daskhub_monitoring_enabled": True,
    "daskhub_monitoring_scrape_interval": "2s",
    "daskhub_monitoring_evaluation_interval": "2s",
    "daskhub_monitoring_alert_for": "4s",
    "daskhub_monitoring_exporter_poll_interval": "2s",
}


def _get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class Prometheus:
    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}"

    def query(self, expr):
        answer = _get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def wait(self, predicate, what, timeout=120):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
                if last:
                    return last
            except OSError as err:
                last = err
            time.sleep(1)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def monitored(local_stack):
    (local_stack.inventory / "group_vars/daskhub/zz-monitoring.yml").write_text(yaml.safe_dump(MONITORING))
    started = time.monotonic()
    local_stack.deploy()
    print(f"converge with monitoring on: {time.monotonic() - started:.1f}s")
    prometheus = Prometheus(local_stack.ports["daskhub_local_prometheus_port"])
    prometheus.wait(
        lambda: (
            prometheus.value('min(up{job=~"jupyterhub|jupyterhub-proxy|daskhub-gateway-exporter"})') == 1
            and prometheus.value("daskhub_gateway_up") == 1
        ),
        "the hub, the proxy and the exporter scraped",
    )
    return local_stack, prometheus


@pytest.fixture(scope="module")
def alices_cluster(monitored):
    stack, _ = monitored
    browser = Browser(stack.hub_url)
    browser.login(USER, stack.secrets()["dummy_password"])
    browser.start_server(USER)
    kernel = browser.kernel(USER)
    try:
        kernel.execute(
            "from dask_gateway import GatewayCluster\n"
            "cluster = GatewayCluster(worker_cores=1, worker_memory=1)\n"
            "client = cluster.get_client()\n"
            "cluster.scale(2)\n"
            "client.wait_for_workers(2, timeout=240)\n",
            timeout=300,
        )
        name = kernel.execute("print(cluster.name)", timeout=60).strip()
        yield name
    finally:
        browser.end_session(USER, kernel)


def test_the_hub_token_is_a_0600_file_and_not_in_prometheus_config(monitored):
    stack, _ = monitored
    token = stack.secrets()["service_prometheus_api_token"]
    token_file = stack.prefix / "state/prometheus-hub-token"
    assert token_file.read_text() == token
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token not in (stack.prefix / "etc/monitoring/prometheus.yml").read_text()


def test_a_second_converge_with_monitoring_changes_nothing_and_shows_no_secret_at_vvv(monitored):
    stack, _ = monitored
    output = stack.deploy("-vvv").stdout
    assert recap(output)["changed"] == 0, output[-3000:]
    # The packages are there: dpkg said so, and apt (its cache opened under a second Python) did not run.
    apt_header = "TASK [daskhub_monitoring : Install Prometheus and Alertmanager]"
    apt_task = output.split(apt_header, 1)[1].split("TASK [", 1)[0]
    assert "skipping: [" in apt_task, apt_task
    for name, value in stack.secrets().items():
        if isinstance(value, str) and len(value) >= 16:
            assert value not in output, f"{name} leaked into the -vvv output"


def test_alices_clusters_and_workers_are_in_prometheus(monitored, alices_cluster):
    _, prometheus = monitored
    prometheus.wait(
        lambda: (
            prometheus.value(f'daskhub_gateway_clusters{{user="{USER}"}}') == 1
            and prometheus.value(f'daskhub_gateway_workers{{user="{USER}"}}') == 2
        ),
        "alice's cluster and its two workers",
    )
    assert prometheus.value(f'daskhub_gateway_worker_cores{{user="{USER}"}}') == 2
    assert prometheus.value(f'daskhub_gateway_worker_memory_bytes{{user="{USER}"}}') == 2 * 2**30
    assert prometheus.value(f'daskhub_gateway_cluster_age_seconds{{cluster="{alices_cluster}"}}') >= 0
    # The scheduler itself, found through the exporter's http_sd.
    prometheus.wait(
        lambda: prometheus.value(f'sum(dask_scheduler_workers{{cluster="{alices_cluster}"}})') == 2,
        "the scheduler's own metrics (http_sd)",
    )


def test_every_dashboard_panel_returns_data(monitored, alices_cluster):
    _, prometheus = monitored
    # Recording rules and the rates need a few evaluations with alice's cluster up.
    prometheus.wait(lambda: prometheus.query("daskhub:user_dask_cores"), "the recording rules")
    empty = []
    for path in sorted((ROOT / "plugins/files/monitoring/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                if not prometheus.wait(lambda t=target: prometheus.query(t["expr"]), target["expr"], timeout=30):
                    empty.append(f"{path.name}: {panel['title']}")
    assert not empty


def test_the_usage_report_counts_alices_dask_core_hours(monitored, alices_cluster, tmp_path):
    stack, prometheus = monitored
    prometheus.wait(lambda: prometheus.value(f'daskhub:user_dask_cores{{user="{USER}"}}') == 2, "alice's cores")
    today = datetime.datetime.now(tz=datetime.UTC).date()
    period = ["-e", f"start={today}", "-e", f"end={today + datetime.timedelta(days=1)}", "-e", f"output_dir={tmp_path}"]
    stack.playbook("playbooks/usage-report.yml", *period)
    rows = list(csv.DictReader((tmp_path / f"usage-{today}_{today + datetime.timedelta(days=1)}-users.csv").open()))
    alice = next(row for row in rows if row["user"] == USER)
    assert float(alice["dask_core_hours"]) > 0
    assert float(alice["dask_memory_gib_hours"]) > 0


def test_stopping_the_gateway_fires_its_alert(monitored):
    stack, prometheus = monitored
    assert stack.ctl("stop", "dask-gateway").returncode == 0
    try:
        alerts = prometheus.wait(
            lambda: [
                alert
                for alert in _get(f"{prometheus.url}/api/v1/alerts")["data"]["alerts"]
                if alert["labels"]["alertname"] == "DaskHubGatewayDown" and alert["state"] == "firing"
            ],
            "DaskHubGatewayDown firing",
            timeout=90,
        )
        assert alerts[0]["labels"]["severity"] == "critical"
        am = f"http://127.0.0.1:{stack.ports['daskhub_local_alertmanager_port']}"
        prometheus.wait(
            lambda: [a for a in _get(f"{am}/api/v2/alerts") if a["labels"]["alertname"] == "DaskHubGatewayDown"],
            "the alert in Alertmanager",
            timeout=60,
        )
    finally:
        assert stack.ctl("start", "dask-gateway").returncode == 0
        stack.wait_for(stack.healthy, timeout=90, what="the gateway back")
