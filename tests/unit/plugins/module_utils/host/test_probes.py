"""module_utils/host: the prefix and shared-path probes, the port owner, the health wait."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import health
from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports
from ansible_collections.daskhub.deploy.plugins.module_utils.host import probes as host_probes


def test_prefix_problem_accepts_a_creatable_prefix(tmp_path):
    assert host_probes.prefix_problem(str(tmp_path / "a" / "b")) is None
    assert not (tmp_path / "a").exists()


def test_prefix_problem_names_a_file_in_the_way(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert (
        host_probes.prefix_problem(str(blocker / "prefix"))
        == f"{blocker} is not a directory, so {blocker}/prefix cannot be created there"
    )


def test_prefix_problem_names_an_unwritable_parent():
    problem = host_probes.prefix_problem("/proc/daskhub-test-prefix")
    assert problem.startswith("cannot write to /proc (")


def test_port_owner_tells_ours_from_others():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        # This process's command line contains the interpreter's path.
        assert host_ports.port_owner(port, os.path.dirname(sys.executable)) == "ours"
        other = host_ports.port_owner(port, "/nonexistent-prefix")
        assert other.startswith(f"process {os.getpid()} (")
    assert host_ports.port_owner(port, "/nonexistent-prefix") is None


# --- Health ---------------------------------------------------------------------


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


def test_closed_parent_finds_the_first_directory_others_cannot_enter():
    # pytest's own temp tree is 0700, so this one lives directly under /tmp.
    top = Path(tempfile.mkdtemp())
    try:
        private = top / "private"
        private.mkdir(mode=0o700)
        top.chmod(0o755)
        # The prefix need not exist yet; its nearest existing parents count.
        assert host_probes.closed_parent(str(private / "not-yet" / "prefix")) == str(private)
        private.chmod(0o755)
        assert host_probes.closed_parent(str(private / "not-yet" / "prefix")) is None
        top.chmod(0o700)
        assert host_probes.closed_parent(str(private / "prefix")) == str(top)
    finally:
        shutil.rmtree(top)


def test_shared_path_problem_follows_links_and_parents():
    # pytest's own temp tree is 0700, so this one lives directly under /tmp.
    tmp_path = Path(tempfile.mkdtemp())
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    tool = private / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    link = tmp_path / "link"
    link.symlink_to(tool)
    tmp_path.chmod(0o755)
    expected = f"{private} (on the way to {tool}) is not searchable by other users"
    assert host_probes.shared_path_problem(str(link)) == expected
    private.chmod(0o755)
    assert host_probes.shared_path_problem(str(link)) is None
    tool.chmod(0o750)
    assert host_probes.shared_path_problem(str(link)) == f"{tool} is not executable by other users"
    shutil.rmtree(tmp_path)
