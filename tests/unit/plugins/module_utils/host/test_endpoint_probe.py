"""The preflight's probe of the identity provider's endpoints (host/probes.py, endpoint_problem), on loopback."""

from __future__ import annotations

import http.server
import socket
import threading

from ansible_collections.daskhub.deploy.plugins.module_utils.host import probes


class _TokenEndpoint(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        # A token endpoint answers a bare GET with an error status: it is there all the same.
        self.send_response(405)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_endpoint_that_answers_with_an_error_status_is_reachable():
    server = http.server.HTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert probes.endpoint_problem(f"http://127.0.0.1:{server.server_port}/token") is None
    finally:
        server.shutdown()
        server.server_close()


def test_an_endpoint_nothing_listens_on_is_a_problem():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    problem = probes.endpoint_problem(f"http://127.0.0.1:{port}/token", timeout=5)
    assert problem.startswith(f"cannot reach http://127.0.0.1:{port}/token from this host (")
    assert "refused" in problem.lower()
