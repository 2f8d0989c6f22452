"""The health wait of a deployed stack (plugins/module_utils/host/health.py), against a real HTTP server on loopback."""

from __future__ import annotations

import http.server
import json
import socket
import threading

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import health


class _Handler(http.server.BaseHTTPRequestHandler):
    gateway_status = "pass"

    def do_GET(self):
        if self.path == "/hub/api/":
            body = {"version": "5.5.4"}
        elif self.path == "/services/dask-gateway/api/health":
            body = {"status": self.gateway_status}
        else:
            self.send_error(404)
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_wait_healthy_returns_what_the_checks_answered(fake_hub):
    _Handler.gateway_status = "pass"
    results = health.wait_healthy(f"http://127.0.0.1:{fake_hub.server_port}/", timeout=5)
    assert results == {"hub API": {"version": "5.5.4"}, "gateway health through the hub": {"status": "pass"}}


def test_wait_healthy_names_the_failing_check(fake_hub):
    _Handler.gateway_status = "fail"
    with pytest.raises(TimeoutError, match=r"gateway health through the hub: .* reports \{'status': 'fail'\}"):
        health.wait_healthy(f"http://127.0.0.1:{fake_hub.server_port}", timeout=0.5, interval=0.1)


def test_wait_healthy_names_an_unreachable_hub():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TimeoutError, match=f"hub API: http://127.0.0.1:{port}/hub/api/ did not answer"):
        health.wait_healthy(f"http://127.0.0.1:{port}", timeout=0.3, interval=0.1)
