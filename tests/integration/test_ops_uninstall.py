"""playbooks/uninstall.yml on the local target: keeps the data, reinstalls from it, and purge leaves nothing.

Uses the private stack of ``upgraded_stack`` (tests/support/stacks.py), after
the upgrade tests (the ``takes_down_the_stack`` mark orders them last,
whatever order the files are named in): these tests take it down.
"""

from __future__ import annotations

import pytest
from support.browser import Browser
from support.playbooks import recap
from support.stacks import UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK, pytest.mark.takes_down_the_stack]


@pytest.fixture(scope="module")
def stack(upgraded_stack):
    """The upgraded private stack (the upgrade tests have read it by now, or never will)."""
    return upgraded_stack.stack


def test_uninstall_stops_everything_and_keeps_the_data(stack):
    status, _ = stack.api("POST", "/users", body={"usernames": ["dave"]})
    assert status in (201, 409)
    cluster = stack.start_cluster("alice")
    assert cluster
    # alice's notebook server, as her browser starts it; it outlives hub restarts by design.
    browser = Browser(stack.hub_url)
    browser.login("alice", stack.secrets()["dummy_password"])
    browser.start_server("alice")
    assert any("jupyterhub-singleuser" in command for _, command in stack.processes())
    out = stack.playbook("playbooks/uninstall.yml", "-vvv").stdout
    stack.deployed = False
    for name, value in stack.secrets().items():
        assert value not in out, f"{name} leaked into the -vvv output"
    assert stack.processes() == [], "processes of the stack are still running"
    assert stack.listening_ports() == [], "ports of the stack still listen"
    for gone in ("venv", "proxy", "etc", "run", "clusters"):
        assert not (stack.prefix / gone).exists(), f"{gone} was not removed"
    kept_paths = ("state/jupyterhub.sqlite", "state/dask_gateway.sqlite", "home", "log")
    for kept in kept_paths:
        assert (stack.prefix / kept).exists(), f"{kept} was removed without purge"
    assert (stack.state_dir / "secrets.yml").exists(), "the secrets store was removed without purge"


def test_uninstall_again_changes_nothing(stack):
    out = stack.playbook("playbooks/uninstall.yml").stdout
    assert recap(out)["changed"] == 0


def test_reinstall_from_kept_data(stack):
    before = stack.secrets()
    stack.deploy()
    status, users = stack.api("GET", "/users")
    assert status == 200
    assert "dave" in {u["name"] for u in users}, "users did not survive uninstall and reinstall"
    assert stack.secrets() == before


def test_purge_leaves_nothing(stack):
    assert stack.processes(), "the stack should be running before the purge"
    stack.playbook("playbooks/uninstall.yml", "-e", "purge=true")
    stack.deployed = False
    assert stack.processes() == []
    assert stack.listening_ports() == []
    assert not stack.prefix.exists(), sorted(str(p) for p in stack.prefix.rglob("*"))[:20]
    assert not stack.state_dir.exists()
