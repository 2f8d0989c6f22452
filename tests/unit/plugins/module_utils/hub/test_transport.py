"""The one plain HTTP client (plugins/module_utils/hub/transport.py, HttpTransport): an unretried GET, the certificate.

Real servers on loopback: a plain HTTP one that answers JSON, an error and
a body that is not JSON, and a TLS one with a self-signed certificate;
nothing answering is a port nothing listens on. The retried REST client on
top of it is tested in test_jupyterhub_users_api.py and test_jupyterhub_api_proxy.py.
"""

from __future__ import annotations

import datetime
import http.server
import json
import ssl
import threading

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError, HubUnreachable
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import HttpTransport
from support import certificates
from support.stacks import free_port


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/json"):  # a proxy is asked for the whole URL
            seen = {"seen": self.headers.get("Authorization")}
            if self.path.startswith("http:"):
                seen["proxied"] = self.path
            body, status, kind = json.dumps(seen).encode(), 200, "json"
        elif self.path == "/text":
            body, status, kind = b"<html>not json</html>", 200, "html"
        else:
            body, status, kind = json.dumps({"message": "nope"}).encode(), 404, "json"
        self.send_response(status)
        self.send_header("Content-Type", f"application/{kind}")
        self.send_header("X-Test", "yes")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def http_server():
    server = _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler))
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def https_server(tmp_path):
    """A real TLS server whose self-signed certificate expires in 30 days."""
    certificates.issue("localhost", days=30 + 1 / 24).write(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = http.server.HTTPServer(("127.0.0.1", free_port()), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _serve(server)
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_get_returns_the_status_the_json_and_the_headers(http_server):
    answer = HttpTransport(5, https=False).get(http_server + "/json", token="t0k")
    assert (answer.status, answer.data, answer.error) == (200, {"seen": "token t0k"}, "")
    assert answer.headers["X-Test"] == "yes"


def test_an_error_answer_and_a_body_that_is_not_json_are_answers_not_exceptions(http_server):
    http = HttpTransport(5, https=False)
    missing = http.get(http_server + "/missing")
    assert (missing.status, missing.data, missing.error) == (404, {"message": "nope"}, "HTTP 404")
    text = http.get(http_server + "/text")
    assert (text.status, text.data, text.body) == (200, None, b"<html>not json</html>")
    assert http.status_of(http_server + "/missing") == 404


def test_the_environment_s_proxy_only_for_a_service_outside_the_site(http_server, monkeypatch):
    monkeypatch.setenv("http_proxy", http_server)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    outside = "http://users.example.invalid/json"
    assert HttpTransport(5, https=False, environment_proxy=True).get(outside).data == {
        "seen": None,
        "proxied": outside,
    }
    # The site's own URLs never go through it.
    assert HttpTransport(2, https=False).get(outside).status is None


def test_nothing_answering_is_a_status_of_none_and_status_of_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/x"
    http = HttpTransport(2, https=False)
    answer = http.get(url)
    assert answer.status is None and "refused" in answer.error.lower()
    with pytest.raises(HubUnreachable, match=f"GET {url}"):
        http.status_of(url)
    with pytest.raises(HubAPIError, match="not an http"):
        http.get("file:///etc/passwd")


def test_the_certificate_is_read_even_unverified_and_status_tells_its_days_left(https_server):
    http = HttpTransport(5)  # validating: the self-signed certificate would fail a GET
    assert http.get(https_server + "/json").status is None
    found = http.certificate(https_server)
    assert found["host"] == "127.0.0.1" and found["error"] == ""
    assert 29 * 86400 < found["not_after"] - datetime.datetime.now(tz=datetime.UTC).timestamp() < 31 * 86400
    assert status.certificate(http, https_server)["days_left"] == 30
    assert http.certificate("http://127.0.0.1:1") is None
    assert status.certificate(http, "http://127.0.0.1:1") is None


def test_without_verification_the_self_signed_hub_answers(https_server):
    assert HttpTransport(5, validate_certs=False).get(https_server + "/json").data == {"seen": None}
