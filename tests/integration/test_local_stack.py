"""The local target for real: bad input, supervision, restarts, file modes.

The bad-input tests stop at the role's preflight, before anything changes,
and take seconds. The ``stack`` tests deploy site.yml into a private prefix
with its own ports and instance name (so they never meet the default site
or another test's stack), and purge it at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")
# Away from the default site (8000-8003, 8081) and the other tests' stacks.
PORTS = {
    "daskhub_local_hub_port": 38000,
    "daskhub_local_hub_api_port": 38081,
    "daskhub_local_proxy_api_port": 38001,
    "daskhub_local_gateway_port": 38002,
    "daskhub_local_gateway_api_port": 38003,
}


def make_inventory(root: Path, prefix: Path, **overrides) -> Path:
    """The default site's inventory with another prefix, state, instance and ports."""
    inventory = root / "inventory"
    (inventory / "group_vars" / "daskhub").mkdir(parents=True)
    shutil.copytree(REPO / "inventories/local/group_vars/all", inventory / "group_vars" / "all")
    shutil.copy(REPO / "inventories/local/hosts.yml", inventory / "hosts.yml")
    shutil.copy(REPO / "inventories/local/group_vars/daskhub.yml", inventory / "group_vars/daskhub/model.yml")
    settings = {
        "daskhub_state_dir": str(root / "state"),
        "daskhub_local_prefix": str(prefix),
        "daskhub_local_instance": f"daskhub-test-{root.name}",
        **PORTS,
        **overrides,
    }
    (inventory / "group_vars/daskhub/zz-test.yml").write_text(yaml.safe_dump(settings))
    return inventory


def playbook(inventory: Path, *args: str, playbook: str = "site.yml", timeout: int = 900):
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), playbook, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- Bad input: clear errors, nothing changed ----------------------------------


@pytest.fixture
def scratch():
    root = Path(tempfile.mkdtemp(prefix="daskhub-local-bad-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_a_port_already_taken_is_named_before_anything_changes(scratch):
    prefix = scratch / "prefix"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = playbook(make_inventory(scratch, prefix, daskhub_local_gateway_port=port))
    assert result.returncode != 0
    assert f"daskhub_local_gateway_port: port {port} is already taken by process {os.getpid()}" in result.stdout
    assert not prefix.exists()


def test_an_unwritable_prefix_is_named(scratch):
    result = playbook(make_inventory(scratch, Path("/proc/daskhub-test-prefix")))
    assert result.returncode != 0
    assert "daskhub_local_prefix: cannot write to /proc" in result.stdout


def test_a_missing_node_is_named_with_the_fix(scratch):
    prefix = scratch / "prefix"
    inventory = make_inventory(
        scratch,
        prefix,
        daskhub_local_node_command="/nonexistent/bin/node",
        daskhub_local_npm_command="/nonexistent/bin/npm",
        daskhub_local_install_node=False,
    )
    result = playbook(inventory)
    assert result.returncode != 0
    assert "node and npm not found (daskhub_local_node_command=/nonexistent/bin/node" in result.stdout
    assert "configurable-http-proxy needs Node.js and npm" in result.stdout
    assert not prefix.exists()


def test_clashing_ports_are_named(scratch):
    inventory = make_inventory(scratch, scratch / "prefix", daskhub_local_gateway_api_port=38000)
    result = playbook(inventory)
    assert result.returncode != 0
    assert "daskhub_local_gateway_api_port: port 38000 is also daskhub_local_hub_port" in result.stdout


# --- The deployed stack ------------------------------------------------------------


class Stack:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="daskhub-local-stack-"))
        self.prefix = self.root / "prefix"
        self.inventory = make_inventory(self.root, self.prefix)
        self.hub_url = f"http://127.0.0.1:{PORTS['daskhub_local_hub_port']}"

    def ctl(self, *args):
        return subprocess.run(
            [str(self.prefix / "venv/bin/supervisorctl"), "-c", str(self.prefix / "etc/supervisord.conf"), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def pid(self, program):
        out = self.ctl("pid", program).stdout.strip()
        return int(out) if out.isdigit() and out != "0" else None

    def healthy(self):
        try:
            for path in ("/hub/api/", "/services/dask-gateway/api/health"):
                with urllib.request.urlopen(self.hub_url + path, timeout=5) as response:
                    if response.status != 200:
                        return False
        except OSError:
            return False
        return True

    def wait_restarted(self, program, old_pid, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pid(program)
            if pid and pid != old_pid and self.healthy():
                return pid
            time.sleep(1)
        pytest.fail(f"{program} was not restarted and healthy within {timeout}s: {self.ctl('status').stdout}")

    def purge(self):
        if (self.prefix / "run/supervisord.sock").exists():
            self.ctl("shutdown")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def stack():
    deployed = Stack()
    try:
        result = playbook(deployed.inventory)
        assert result.returncode == 0, result.stdout[-4000:]
        yield deployed
    finally:
        deployed.purge()


@pytest.mark.stack
def test_secret_files_and_private_directories_are_private(stack):
    for relative, mode in [
        ("etc/hub-secrets.json", 0o600),
        ("etc/gateway-secrets.json", 0o600),
        ("state/dask_gateway_db.key", 0o600),
        ("state", 0o700),
        ("run", 0o700),
        ("etc/jupyterhub_config.py", 0o644),
        ("etc/dask_gateway_config.py", 0o644),
    ]:
        assert stat.S_IMODE((stack.prefix / relative).stat().st_mode) == mode, relative
    assert stat.S_IMODE((stack.root / "state/secrets.yml").stat().st_mode) == 0o600


@pytest.mark.stack
def test_a_killed_hub_is_restarted_and_verify_passes(stack):
    old = stack.pid("jupyterhub")
    assert old
    os.kill(old, signal.SIGKILL)
    stack.wait_restarted("jupyterhub", old)
    result = playbook(stack.inventory, playbook="playbooks/verify.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "reject bogus token" in result.stdout


@pytest.mark.stack
def test_a_killed_gateway_is_restarted(stack):
    old = stack.pid("dask-gateway")
    assert old
    os.kill(old, signal.SIGKILL)
    stack.wait_restarted("dask-gateway", old)


@pytest.mark.stack
def test_a_gateway_setting_restarts_only_the_gateway(stack):
    hub, gateway = stack.pid("jupyterhub"), stack.pid("dask-gateway")
    result = playbook(stack.inventory, "-e", '{"daskhub_gateway_idle_timeout": 900}')
    assert result.returncode == 0, result.stdout[-4000:]
    assert "900.0" in (stack.prefix / "etc/dask_gateway_config.py").read_text()
    assert stack.pid("jupyterhub") == hub
    assert stack.pid("dask-gateway") not in (None, gateway)
    # Back to the inventory's setting; the hub database kept its users.
    result = playbook(stack.inventory)
    assert result.returncode == 0, result.stdout[-4000:]
    assert stack.pid("jupyterhub") == hub


@pytest.mark.stack
def test_a_second_converge_changes_nothing(stack):
    result = playbook(stack.inventory)
    assert result.returncode == 0, result.stdout[-4000:]
    recap = [line for line in result.stdout.splitlines() if line.startswith("localhost")][-1]
    assert " changed=0 " in recap, recap


# --- Modules on their own ------------------------------------------------------------


def adhoc(module: str, args: str, *extra: str):
    return subprocess.run(
        [str(REPO / ".venv/bin/ansible"), "localhost", "-m", f"daskhub.deploy.{module}", "-a", args, *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_system_users_plans_accounts_in_check_mode():
    result = adhoc(
        "local_system_users", '{"users": ["root", "daskhub-zz-nobody"], "group": "daskhub-zz-test"}', "--check"
    )
    assert result.returncode == 0, result.stdout
    answer = yaml.safe_load(result.stdout.split("=>", 1)[1])
    # root exists and is used as it is; only the missing account is planned.
    assert answer["created"] == ["daskhub-zz-nobody"]
    assert answer["removed"] == []


def test_verify_names_the_step_that_broke():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The default site's venv has the dask-gateway client.
    python = Path("/opt/daskhub/venv/bin/python")
    if not python.exists():
        pytest.skip("no local stack venv with the dask-gateway client on this machine")
    args = (
        f'{{"hub_url": "http://127.0.0.1:{port}", "api_token": "x", "user": "alice", '
        '"image": "img:1", "worker_cores_max": 4, "timeout": 5}'
    )
    result = adhoc("daskhub_verify", args, "-e", f"ansible_python_interpreter={python}")
    assert result.returncode != 0
    assert "verify step 'hub token for the test user' failed: HubUnreachable" in result.stdout


@pytest.mark.stack
def test_no_secret_in_verbose_output_or_service_logs(stack):
    outputs = []
    for book in ("site.yml", "playbooks/verify.yml"):
        result = playbook(stack.inventory, "-vvv", playbook=book)
        assert result.returncode == 0, result.stdout[-4000:]
        outputs.append(result.stdout + result.stderr)
    outputs.extend(path.read_text(errors="replace") for path in (stack.prefix / "log").glob("*.log"))
    secrets = yaml.safe_load((stack.root / "state/secrets.yml").read_text())
    assert {"proxy_secret_token", "dask_gateway_api_token", "service_daskhub_verify_api_token"} <= set(secrets)
    for name, value in secrets.items():
        assert not any(value in text for text in outputs), name
