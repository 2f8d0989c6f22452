"""An https hub reached with the site's own CA (ca_path): a real TLS server, no fake transport."""

from __future__ import annotations

import contextlib
import http.server
import json
import ssl
import threading
import urllib.request

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import HubTransport
from support import certificates
from support.stacks import free_port


class HubAnswer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"version": "5.5.4"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-JupyterHub-Version", "5.5.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        return


@contextlib.contextmanager
def https_hub(certificate_file, key_file):
    """The hub's answer over https with this certificate, on 127.0.0.1; yields its port."""
    server = http.server.HTTPServer(("127.0.0.1", free_port()), HubAnswer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


@pytest.fixture
def private_ca_hub(tmp_path):
    """An https server for localhost whose certificate only the file it yields (its CA) verifies."""
    ca, key = certificates.issue("daskhub test private CA", ("localhost", "127.0.0.1"), ca=True).write(
        tmp_path / "ca.pem", tmp_path / "key.pem"
    )
    with https_hub(ca, key) as port:
        yield f"https://localhost:{port}/hub/api", str(ca)


def test_the_sites_ca_verifies_an_https_hub(private_ca_hub):
    api_url, ca_path = private_ca_hub
    status, body = HubTransport(api_url, "token", ca_path=ca_path, retries=0).request("GET", "/")
    assert (status, body) == (200, {"version": "5.5.4"})


def test_without_the_sites_ca_the_hub_is_refused(private_ca_hub):
    api_url, _ = private_ca_hub
    with pytest.raises(HubAPIError, match="CERTIFICATE_VERIFY_FAILED"):
        HubTransport(api_url, "token", retries=0).request("GET", "/")


def test_the_tests_certificates_pass_the_strict_checks_of_python_3_13_clients(tmp_path):
    """support.certificates issues what a client with ssl.VERIFY_X509_STRICT (Python 3.13's default) accepts.

    Without the key identifiers such a client refuses the chain, and pebble's
    API, the operator's certificate and these tests' servers with it.
    """
    ca = certificates.issue("daskhub test strict CA", ca=True)
    leaf = certificates.issue("127.0.0.1", ("127.0.0.1",), by=ca)
    with https_hub(*leaf.write(tmp_path / "leaf.pem", tmp_path / "leaf-key.pem")) as port:
        strict = ssl.create_default_context(cafile=str(ca.write_certificate(tmp_path / "ca.pem")))
        strict.verify_flags |= ssl.VERIFY_X509_STRICT
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/hub/api/", context=strict, timeout=10) as response:
            assert json.loads(response.read()) == {"version": "5.5.4"}
