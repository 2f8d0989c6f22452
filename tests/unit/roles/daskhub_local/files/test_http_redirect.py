"""The HTTP port's server of an HTTPS site (roles/daskhub_local/files/daskhub_http_redirect.py), run as
the hub runs it, a process of its own on a real port: ACME answers from the webroot, a redirect for the rest."""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from support.playbooks import ROOT
from support.stacks import free_port

SERVER = ROOT / "roles/daskhub_local/files/daskhub_http_redirect.py"
HTTPS_URL = "https://hub.example.org"


@pytest.fixture
def http_port():
    # As root it serves as nobody, who must reach the webroot (the prefix's parents are searchable too).
    root = Path(tempfile.mkdtemp(prefix="daskhub-http-redirect-"))
    root.chmod(0o755)
    webroot = root / "acme-challenge"
    webroot.mkdir()
    webroot.chmod(0o755)
    (webroot / "tok3n_-A").write_text("tok3n_-A.thumbprint")
    (webroot / "tok3n_-A").chmod(0o644)
    (root / "secret").write_text("not for the network")
    port = free_port()
    command = [sys.executable, str(SERVER), "--bind", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen([*command, "--webroot", str(webroot), "--https-url", HTTPS_URL + "/"])
    deadline = time.monotonic() + 15
    while True:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(root)


def get(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.getheader("Location"), response.read()


def test_an_acme_challenge_is_answered_from_the_webroot(http_port):
    assert get(http_port, "/.well-known/acme-challenge/tok3n_-A") == (200, None, b"tok3n_-A.thumbprint")


@pytest.mark.parametrize("token", ["missing", "..%2Fsecret", "../secret", ""])
def test_an_unknown_or_malformed_token_is_404_and_nothing_outside_the_webroot_is_read(http_port, token):
    status, _, body = get(http_port, f"/.well-known/acme-challenge/{token}")
    assert status == 404
    assert b"not for the network" not in body


def test_everything_else_is_redirected_to_the_same_path_over_https(http_port):
    assert get(http_port, "/hub/login?next=%2Fhub%2F")[:2] == (301, f"{HTTPS_URL}/hub/login?next=%2Fhub%2F")
    assert get(http_port, "/")[:2] == (301, f"{HTTPS_URL}/")


@pytest.mark.skipif(os.getuid() != 0, reason="dropping privileges needs root")
def test_bound_as_root_it_serves_as_nobody(http_port):
    owners = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if str(SERVER).encode() in cmdline and f"{http_port}".encode() in cmdline:
                owners.add(os.stat(f"/proc/{entry}").st_uid)
    assert owners == {pwd.getpwnam("nobody").pw_uid}
