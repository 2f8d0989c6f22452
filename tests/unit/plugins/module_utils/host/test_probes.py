"""module_utils/host: the prefix and shared-path probes, the port owner."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

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
