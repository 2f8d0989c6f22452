"""Answers of the proxy in front of a restarting hub are not the hub's (HubClient).

A restarted hub's configurable-http-proxy answers 404 to every request until
the hub has re-added its route; the user sync used to count those DELETEs as
"already gone". This fakes that proxy, which a real one produces only in a
short window (the real hub-restart test is in
tests/integration/test_user_sync_restart.py).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HUB_HEADER, HubUnreachable


class ProxyThenHub(BaseHTTPRequestHandler):
    """The first `proxy_answers` requests get configurable-http-proxy's 404; then the hub answers `hub_status`."""

    proxy_answers = 0
    hub_status = 204
    seen = 0

    def do_DELETE(self):
        type(self).seen += 1
        if type(self).seen <= type(self).proxy_answers:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body><h1>404: Not Found</h1></body></html>")
            return
        self.send_response(type(self).hub_status)
        self.send_header(HUB_HEADER, "5.5.4")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if type(self).hub_status == 404:
            self.wfile.write(b'{"status": 404, "message": "Not Found"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def hub():
    ProxyThenHub.seen = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProxyThenHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hub/api"
    server.shutdown()


def test_a_proxy_404_is_retried_until_the_hub_answers(hub):
    ProxyThenHub.proxy_answers, ProxyThenHub.hub_status = 5, 204
    client = HubClient(hub, "t", retries=1, backoff=0.01, unavailable_timeout=30)
    assert client.delete_user("alice") is True
    assert ProxyThenHub.seen == 6


def test_a_proxy_404_that_lasts_is_a_failure_not_already_gone(hub):
    ProxyThenHub.proxy_answers, ProxyThenHub.hub_status = 10**6, 204
    client = HubClient(hub, "t", retries=1, backoff=0.01, unavailable_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(HubUnreachable) as error:
        client.delete_user("alice")
    assert time.monotonic() - started >= 0.5
    assert error.value.status == 404
    assert error.value.from_hub is False
    assert "not from the hub" in str(error.value)
    results, errors = client.delete_users(["alice", "bob"])
    assert results == {}
    assert sorted(errors) == ["alice", "bob"]


def test_the_hubs_own_404_means_already_gone(hub):
    ProxyThenHub.proxy_answers, ProxyThenHub.hub_status = 0, 404
    client = HubClient(hub, "t", retries=3, backoff=0.01, unavailable_timeout=30)
    assert client.delete_user("alice") is False
    assert ProxyThenHub.seen == 1


def test_every_already_done_answer_is_read_the_same_way(hub):
    # request_unless: the hub's own 404 to a token's DELETE is "already gone" too.
    ProxyThenHub.proxy_answers, ProxyThenHub.hub_status = 0, 404
    client = HubClient(hub, "t", retries=3, backoff=0.01, unavailable_timeout=30)
    assert client.revoke_token("alice", "a1") is False
    ProxyThenHub.proxy_answers, ProxyThenHub.seen = 10**6, 0
    client = HubClient(hub, "t", retries=0, backoff=0.01, unavailable_timeout=0.1)
    with pytest.raises(HubUnreachable):
        client.revoke_token("alice", "a1")
