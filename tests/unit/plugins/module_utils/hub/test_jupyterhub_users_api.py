"""HubClient paths a real hub cannot produce on demand: 5xx, bad JSON, retries.

Everything a real JupyterHub does answer (401/403, pagination, bulk POST)
is tested against real hubs in tests/integration/test_user_sync_hub.py.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError, HubUnreachable


class FlakyHub(BaseHTTPRequestHandler):
    """Answers 503 to the first `failures` requests, then a fixed JSON body."""

    failures = 0
    seen = 0
    body = b'{"version": "5.5.4"}'

    def do_GET(self):
        type(self).seen += 1
        if type(self).seen <= type(self).failures:
            self.send_response(503)
            # The hub's own 503: a proxy's would be retried for longer.
            self.send_header("X-JupyterHub-Version", "5.5.4")
            self.end_headers()
            self.wfile.write(b"<html>proxy error</html>")
            return
        self.send_response(200)
        self.send_header("X-JupyterHub-Version", "5.5.4")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky():
    FlakyHub.seen = 0
    FlakyHub.body = b'{"version": "5.5.4"}'
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hub/api"
    server.shutdown()


def test_retries_5xx_with_backoff_then_succeeds(flaky):
    FlakyHub.failures = 2
    client = HubClient(flaky, "t", retries=3, backoff=0.01)
    assert client.info() == {"version": "5.5.4"}
    assert FlakyHub.seen == 3


def test_gives_up_after_retries_with_the_status(flaky):
    FlakyHub.failures = 10
    client = HubClient(flaky, "t", retries=1, backoff=0.01)
    with pytest.raises(HubAPIError) as err:
        client.info()
    assert err.value.status == 503
    assert FlakyHub.seen == 2


def test_non_json_answer_points_at_the_url(flaky):
    FlakyHub.failures = 0
    FlakyHub.body = b"<html>login</html>"
    with pytest.raises(HubAPIError, match="ending in /hub/api"):
        HubClient(flaky, "t").info()


def test_pre_2_hub_without_pagination_returns_the_bare_list(flaky):
    FlakyHub.failures = 0
    FlakyHub.body = json.dumps([{"name": "a"}, {"name": "b"}]).encode()
    assert [u["name"] for u in HubClient(flaky, "t").list_users()] == ["a", "b"]


def test_refused_connection_names_the_url():
    client = HubClient("http://127.0.0.1:9/hub/api", "t", retries=1, backoff=0.01, timeout=2)
    with pytest.raises(HubUnreachable, match=r"cannot reach the JupyterHub API at http://127.0.0.1:9/hub/api"):
        client.list_users()


@pytest.mark.parametrize(
    ("url", "token", "message"),
    [("", "t", "empty"), ("ftp://x/hub/api", "t", "not an http"), ("http://x/hub/api", "", "no API token")],
)
def test_bad_client_settings(url, token, message):
    with pytest.raises(HubAPIError, match=message):
        HubClient(url, token)


def test_parallel_helper_collects_errors_per_item():
    client = HubClient("http://127.0.0.1:9/hub/api", "t", parallelism=3)

    def work(n):
        if n % 2:
            raise HubAPIError(f"odd {n}")
        return n * 10

    results, errors = client.run_parallel(work, range(6))
    assert results == {0: 0, 2: 20, 4: 40}
    assert sorted(errors) == [1, 3, 5]
