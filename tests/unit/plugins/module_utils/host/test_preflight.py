"""module_utils/host/preflight.py, the work of modules/local_preflight.py: every problem at once, on this host."""

from __future__ import annotations

import grp
import pwd
import socket
import subprocess
import sys
import time

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports
from ansible_collections.daskhub.deploy.plugins.module_utils.host import preflight as host_preflight


def _params(tmp_path, **changes):
    params = {
        "prefix": str(tmp_path / "prefix"),
        "ports": {},
        "tools": {},
        "python": None,
        "min_python": "3.12",
        "shared_prefix": False,
        "accounts": {},
        "accounts_group": "daskhub-zz-unit-none",
        "adopted_accounts": [],
        "cron": False,
        "npm_packages": {},
        "mtimes": {},
    }
    return {**params, **changes}


@pytest.fixture
def listener():
    """A port another process listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 10
    while not host_ports.listening_inodes(port):
        assert time.monotonic() < deadline, "the listener did not start"
        time.sleep(0.1)
    yield port, process.pid
    process.kill()
    process.wait()


def test_the_interpreter_is_tried_for_its_version_and_venv_module(tmp_path):
    assert host_preflight.python_problem(sys.executable, "3.12") is None
    too_old = host_preflight.python_problem(sys.executable, "99.0")
    assert too_old.startswith(f"{sys.executable} is Python 3.") and "needs Python >= 99.0" in too_old
    assert host_preflight.python_problem(str(tmp_path / "python"), "3.12").startswith(f"{tmp_path}/python cannot run (")
    # An interpreter without ensurepip, as Debian's python3 without python3-venv.
    without_venv = tmp_path / "python3"
    without_venv.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'ensurepip'\" >&2\nexit 1\n")
    without_venv.chmod(0o755)
    assert host_preflight.python_problem(str(without_venv), "3.12") == (
        f"{without_venv} lacks what the stack needs (ModuleNotFoundError: No module named 'ensurepip'; "
        "on Debian install python3-venv)"
    )


def test_every_problem_is_said_at_once(tmp_path, listener):
    port, pid = listener
    params = _params(tmp_path, ports={"hub_port": port, "gateway_port": "eighty"}, python=str(tmp_path / "python"))
    with pytest.raises(host_preflight.PreflightError) as failure:
        host_preflight.preflight(params)
    problems = failure.value.problems
    assert problems[0].startswith("daskhub_local_gateway_port: not a port number: 'eighty'")
    assert problems[1].startswith(f"daskhub_local_hub_port: port {port} is already taken by ")
    assert str(pid) in problems[1]
    assert problems[2].startswith(f"daskhub_local_python: {tmp_path}/python cannot run")
    assert str(failure.value).startswith("The local target cannot be installed:\n  - daskhub_local_gateway_port")


def test_a_host_without_problems_gets_its_facts(tmp_path):
    (tmp_path / "stamp").write_text("")
    params = _params(
        tmp_path,
        tools={"shell": "sh", "node": "daskhub-no-such-tool"},
        python=sys.executable,
        mtimes={"stamp": str(tmp_path / "stamp"), "gone": str(tmp_path / "gone")},
    )
    result = host_preflight.preflight(params)
    assert result["changed"] is False
    assert result["tools"]["shell"].endswith("/sh") and result["missing_tools"] == ["node"]
    assert result["mtimes"]["gone"] is None and result["mtimes"]["stamp"] > 0
    assert result["ports_in_use_by_us"] == [] and result["first_uid"] >= 1
    assert "cron" not in result


def test_the_accounts_answer_whether_the_users_module_has_work(tmp_path):
    def accounts(group, users):
        """Options with the accounts of daskhub_users (none with users None), nothing else to check."""
        return _params(tmp_path, accounts={} if users is None else {"daskhub_users": users}, accounts_group=group)

    root_members = sorted(grp.getgrnam("root").gr_mem)
    assert host_preflight.preflight(accounts("root", root_members))["system_accounts_in_place"] is True
    assert host_preflight.preflight(accounts("daskhub-zz-unit-none", []))["system_accounts_in_place"] is False
    assert "system_accounts_in_place" not in host_preflight.preflight(accounts("root", None))


def test_the_service_account_is_in_place_only_with_the_home_and_shell_its_task_gives_it(tmp_path):
    """The account of the shared-uid mode: its task (ansible.builtin.user) runs only when this says no."""
    root = pwd.getpwuid(0)

    def in_place(name="", home="", login=""):
        account = {"name": name, "home": home, "shell": login} if name else {}
        return host_preflight.preflight(_params(tmp_path, service_account=account)).get("service_account_in_place")

    assert in_place(root.pw_name, root.pw_dir, root.pw_shell) is True
    assert in_place(root.pw_name, str(tmp_path), root.pw_shell) is False
    assert in_place(root.pw_name, root.pw_dir, "/usr/sbin/daskhub-no-such-shell") is False
    assert in_place("daskhub-zz-unit-none", root.pw_dir, root.pw_shell) is False
    assert in_place() is None, "asked without an account"
