"""Deployed local-target stacks for tests, and the ports and prefixes of each pytest-xdist worker.

Fixtures (import them into a test module, or use them from tests/conftest.py,
which exports them):

``local_stack`` (session scope)
    ``site.yml`` of the default inventory (``inventories/local``), deployed
    once per pytest session into a private prefix, with its own instance
    name, state dir and ports, and purged when the session ends. For the
    integration tests that read the stack, or change it and put it back
    (restart a program, run a day-2 playbook that leaves it working). Mark
    such a test module ``pytestmark = LOCAL_STACK``: that puts every user of
    the stack into one xdist group, so that one worker deploys it once.

    Run as root, it has the default isolation: each hub user is a system
    account. Only this stack makes accounts, so parallel stacks never
    fight over them.

``public_stack`` (session scope, tests/support/public_stack.py)
    The public site: HTTPS from a local ACME server, logins through an
    OpenID Connect provider and its groups. Mark its tests ``PUBLIC_STACK``.

``upgraded_stack`` (session scope)
    A private stack deployed at ``OLD_JUPYTERHUB`` (older hub database
    schema than the role's pin) and moved to the pin by
    ``playbooks/upgrade.yml``; returns an :class:`Upgrade`. The tests that
    break a stack (killed processes and installs, uninstall, purge) use this
    one, after the upgrade tests. Mark them ``UPGRADED_STACK``. It opts in
    to the shared-uid mode (``daskhub_local_system_users: false``): as root
    its services run as the service account ``SHARED_UID_ACCOUNT``; to
    the cron watchdog (``daskhub_local_supervisor_watchdog: cron``); and
    its users' servers report their activity every ``ACTIVITY_INTERVAL``
    seconds (``daskhub_singleuser_extra_env``), for the culling test.

The interface of a :class:`LocalStack` (``local_stack`` and ``upgraded_stack.stack``,
or ``LocalStack(name, SLOTS[...], ports=..., **variables)`` for a private one,
the one class that deploys a stack for tests):

- ``.root`` (a temp dir), ``.prefix`` (``daskhub_local_prefix``),
  ``.inventory`` (its inventory dir), ``.state_dir`` (``daskhub_state_dir``,
  holds ``secrets.yml``), ``.ports`` (name -> port), ``.hub_url``,
  ``.python`` (the stack's venv Python, which has the dask-gateway client);
- ``.playbook(name, *args, check=True)``: ansible-playbook ``name`` against
  the stack's inventory, stdout and stderr together in ``.stdout``; raises
  AssertionError on failure unless ``check=False``;
- ``.secrets()``: the secrets store, read afresh; ``.api(method, path,
  token=None, body=None)``: (status, JSON) of a hub API call with the
  user-sync service token (support.hub_api); ``.hub_version()``; ``.user_token(user, scopes)``:
  a token the user makes at /hub/token after logging in (her own door);
- ``.gateway(user, action, *names)``, ``.start_cluster(user)``, ``.clusters_of(user)``:
  the dask_gateway client of support/gateway_client.py run as a user from
  outside the hub, the way the deploy summary says: ``Gateway(<hub>/services/dask-gateway,
  proxy_address=..., auth="jupyterhub")`` with such a token;
- ``.ctl(*args)`` (supervisorctl), ``.pid(program)``, ``.healthy()``,
  ``.wait_restarted(program, old_pid)``, ``.processes()``,
  ``.listening_ports()``, ``.wait_for(predicate, timeout, what)``.

Ports: the harness owns 20000-27999, below the kernel's ephemeral range
(32768-60999 by default), so that no outgoing connection's local port is
one of a stack's. Each xdist worker (``gw0``, ``gw1``, ...) gets a block of
1000 from 20000, and a stack takes a slot of 10 in its worker's block
(:func:`port_block`), so that parallel workers never share a port. The
tests' own servers take theirs from :func:`free_port` (28000-31999).
Prefixes are temp dirs named after the stack and the worker.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support import hub_api
from support.browser import Browser
from support.playbooks import ROOT, VENV_BIN, ansible_env, run_playbook
from support.versions import local_versions

HARNESS_PORTS = range(20000, 28000)
PORTS_PER_WORKER = 1000
PORTS_PER_STACK = 10
PORT_NAMES = (
    "daskhub_local_hub_port",
    "daskhub_local_hub_api_port",
    "daskhub_local_proxy_api_port",
    "daskhub_local_gateway_port",
    "daskhub_local_gateway_api_port",
    # Monitoring's (daskhub_monitoring_enabled; tests/integration/test_monitoring_local.py turns it on).
    "daskhub_local_prometheus_port",
    "daskhub_local_alertmanager_port",
    "daskhub_monitoring_exporter_port",
)
# The JupyterHub the upgraded stack starts at: the last 4.x, whose database
# schema (alembic head 0eee8c825d24) is older than 5.x's, so the upgrade
# crosses a real schema change (the hub's upgrade_db migrates it).
OLD_JUPYTERHUB = "4.1.6"
# How often the upgraded stack's servers report their activity to the hub (JUPYTERHUB_ACTIVITY_INTERVAL), in seconds.
ACTIVITY_INTERVAL = 3
# The upgraded stack's service account (the role's default name).
SHARED_UID_ACCOUNT = "daskhub"
# Run by the stack's Python as a user: the client the deploy summary prints.
GATEWAY_CLIENT = Path(__file__).with_name("gateway_client.py")
# Slots in a worker's port block: one per kind of stack, and one for the
# inventories of tests that never deploy (their preflight reads the ports).
SLOTS = {"local_stack": 0, "upgraded_stack": 1, "scratch": 2, "private": 3, "public_stack": 5}
LOCAL_STACK = pytest.mark.xdist_group("local_stack")
UPGRADED_STACK = pytest.mark.xdist_group("upgraded_stack")


def worker_id() -> str:
    """The pytest-xdist worker (gw0, gw1, ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    worker = worker_id()
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def port_block(slot: int) -> dict[str, int]:
    """The ports of stack ``slot`` in this worker's block (PORT_NAMES)."""
    base = HARNESS_PORTS.start + worker_index() * PORTS_PER_WORKER + slot * PORTS_PER_STACK
    assert base + PORTS_PER_STACK <= HARNESS_PORTS.stop, f"worker {worker_id()} has no port block left"
    return {name: base + offset for offset, name in enumerate(PORT_NAMES)}


# The tests' own servers (hubs, their proxies, slapd) take ports from a block
# per worker, below the kernel's ephemeral range like the stacks' ports: a
# client that polls a server not listening yet on an ephemeral port can be
# given that very port as its source and connect to itself (TCP simultaneous
# open), then read back its own request as the answer.
SERVER_PORTS = range(28000, 32000)
SERVER_PORTS_PER_WORKER = 1000
_server_port_cursor: dict[int, int] = {}


def free_port() -> int:
    """A port nothing listens on, from this worker's block of SERVER_PORTS; never the same twice in a row."""
    workers = len(SERVER_PORTS) // SERVER_PORTS_PER_WORKER
    block = SERVER_PORTS.start + (worker_index() % workers) * SERVER_PORTS_PER_WORKER
    cursor = _server_port_cursor.get(block, 0)
    for step in range(SERVER_PORTS_PER_WORKER):
        offset = (cursor + step) % SERVER_PORTS_PER_WORKER
        if port_free(block + offset):
            _server_port_cursor[block] = offset + 1
            return block + offset
    raise AssertionError(f"no free port left in {block}-{block + SERVER_PORTS_PER_WORKER - 1}")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def make_inventory(
    root: Path, prefix: Path, ports: dict[str, int], source: Path = ROOT / "inventories/local", **overrides
) -> Path:
    """The default site's inventory, with another prefix, state dir, instance name and ports.

    The shipped files (of ``source``: this repository's, or an installed
    collection's copy) are copied unchanged; the test's settings go in a
    group_vars file of their own that Ansible reads after the model.
    """
    inventory = root / "inventory"
    (inventory / "group_vars" / "daskhub").mkdir(parents=True)
    shutil.copytree(source / "group_vars/all", inventory / "group_vars" / "all")
    shutil.copy(source / "hosts.yml", inventory / "hosts.yml")
    shutil.copy(source / "group_vars/daskhub/main.yml", inventory / "group_vars/daskhub/model.yml")
    settings = {
        "daskhub_state_dir": str(root / "state"),
        "daskhub_local_prefix": str(prefix),
        "daskhub_local_instance": f"daskhub-test-{root.name}",
        **ports,
        **overrides,
    }
    (inventory / "group_vars/daskhub/zz-test.yml").write_text(yaml.safe_dump(settings))
    return inventory


class LocalStack:
    """A local-target stack of the default inventory in a private prefix (see the module docstring)."""

    def __init__(self, name: str, slot: int, ports: dict[str, int] | None = None, **overrides):
        """``ports`` (role variable -> port) replaces some of the slot's ports."""
        self.name = name
        self.root = Path(tempfile.mkdtemp(prefix=f"daskhub-{name}-{worker_id()}-"))
        # As root the users' accounts (or the service account) run the venv
        # under the prefix: its parents must be searchable, as /opt is. The
        # state dir inside (the secrets store) is the play's, mode 0700.
        self.root.chmod(0o755)
        self.prefix = self.root / "prefix"
        self.state_dir = self.root / "state"
        self.ports = {**port_block(slot), **(ports or {})}
        self.inventory = make_inventory(self.root, self.prefix, self.ports, **overrides)
        self.hub_url = f"http://127.0.0.1:{self.ports['daskhub_local_hub_port']}"
        # The CA an https stack's certificate chains to (the public stack sets it); None: the system's.
        self.site_ca = None
        self.python = self.prefix / "venv/bin/python"
        self.deployed = False
        self.deploy_output = ""
        self.molecule_returncode = None

    # -- running playbooks ------------------------------------------------
    def playbook(self, name: str, *args: str, check: bool = True, timeout: float = 1800):
        """ansible-playbook ``name`` against this stack; stdout and stderr together in .stdout."""
        proc = run_playbook(name, *args, inventory=self.inventory, timeout=timeout, merge_stderr=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"{name} {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
        return proc

    def deploy(self, *args: str):
        """site.yml; refuses to start when one of the stack's ports is taken by something else."""
        if not self.deployed:
            busy = self.listening_ports()
            assert not busy, f"ports of the {self.name} test stack are taken: {', '.join(busy)}"
        proc = self.playbook("site.yml", *args)
        self.deployed = True
        self.deploy_output = self.deploy_output or proc.stdout
        return proc

    def purge(self):
        """Uninstall with purge=true (stops every program), then remove the temp dir."""
        try:
            if self.prefix.exists() or self.state_dir.exists():
                self.playbook("playbooks/uninstall.yml", "-e", "purge=true", check=False)
            if (self.prefix / "run/supervisord.sock").exists():
                self.ctl("shutdown")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- reading the stack ---------------------------------------------------
    def secrets(self) -> dict:
        return yaml.safe_load((self.state_dir / "secrets.yml").read_text())

    def api(self, method, path, token=None, body=None):
        """(status, JSON) of a hub API call (support.hub_api); HTTP errors are returned, not raised."""
        token = token or self.secrets()["user_sync_api_token"]
        try:
            return hub_api.call(
                f"{self.hub_url}/hub/api", token, method, path, body=body, timeout=30, ca_file=self.site_ca
            )
        except hub_api.HubAPIError as error:
            if error.status is None:
                raise
            return error.status, None

    def hub_log(self, about: str, limit: int = 6000) -> str:
        """The hub's log lines naming ``about`` (a user), their last ``limit`` characters, for a failure's message."""
        log = (self.prefix / "log" / "jupyterhub.log").read_text(errors="replace")
        return "\n".join(line for line in log.splitlines() if about in line)[-limit:]

    def hub_version(self) -> str:
        return self.api("GET", "/")[1]["version"]

    def user_token(self, user, scopes=("access:services!service=dask-gateway",)):
        """A token ``user`` makes for herself, as the deploy summary says: log in, then /hub/token."""
        browser = Browser(self.hub_url)
        browser.login(user, self.secrets()["dummy_password"], next_path="/hub/token")
        return browser.new_token(user, list(scopes))

    def gateway(self, user, action, *names):
        """support/gateway_client.py's ``action`` as ``user``, with the stack's Python and her token; returns stdout."""
        address = self.hub_url + "/services/dask-gateway"
        proxy = f"gateway://127.0.0.1:{self.ports['daskhub_local_gateway_port']}"
        env = dict(os.environ, JUPYTERHUB_API_TOKEN=self.user_token(user))
        proc = subprocess.run(
            # -I: not this folder's modules on the path, only the stack's.
            [str(self.python), "-I", str(GATEWAY_CLIENT), address, proxy, action, *names],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"dask_gateway {action} as {user} failed:\n{proc.stderr[-3000:]}"
        return proc.stdout

    def start_cluster(self, user):
        """A running cluster of ``user`` with one worker, left running; returns its name."""
        return self.gateway(user, "new").strip().splitlines()[-1]

    def clusters_of(self, user):
        return sorted(line for line in self.gateway(user, "list").splitlines() if line.strip())

    # -- supervision -----------------------------------------------------------
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
        raise AssertionError(f"{program} was not restarted and healthy within {timeout}s: {self.ctl('status').stdout}")

    def processes(self):
        """(pid, cmdline) of every process whose command line or cwd is under the prefix."""
        found = []
        prefix = str(self.prefix)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if prefix in cmdline or cwd.startswith(prefix):
                found.append((int(entry.name), cmdline.strip()))
        return found

    def listening_ports(self):
        return [f"{name}={port}" for name, port in self.ports.items() if not port_free(port)]

    def wait_for(self, predicate, timeout=60, what="condition"):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(1)


def alembic_head(python: Path) -> str:
    """The alembic head revision (the newest hub database schema) of the JupyterHub installed for ``python``."""
    code = (
        "import os, jupyterhub\n"
        "from alembic.script import ScriptDirectory\n"
        "print(ScriptDirectory(os.path.join(os.path.dirname(jupyterhub.__file__), 'alembic')).get_current_head())\n"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def database_revision(database: Path) -> str:
    """The alembic revision a hub sqlite database is at."""
    with sqlite3.connect(database) as db:
        return db.execute("select version_num from alembic_version").fetchone()[0]


@dataclass
class Upgrade:
    """What ``upgraded_stack`` did: the stack, and what the tests read of the upgrade."""

    stack: LocalStack
    old_version: str
    old_revision: str
    new_revision: str
    head_before: str
    head_after: str
    user_token: str
    output: str


MOLECULE_SCENARIO = ROOT / "molecule" / "default"
# The scenario's own settings beside the default site's linked inventory.
MOLECULE_SETTINGS = MOLECULE_SCENARIO / "inventory" / "group_vars" / "daskhub" / "zz-molecule.yml"
MOLECULE_LOG = ROOT / "build" / "test-results" / "molecule-default.log"


def molecule_default_stack() -> LocalStack:
    """Molecule's default scenario, run to its verify and kept deployed, as a :class:`LocalStack`.

    ``molecule test -s default --destroy never``: site.yml of the default
    inventory, a second converge that must change nothing, then its verify
    (playbooks/verify.yml, file modes, no secret in any log). The scenario
    deploys the same site the shared stack's tests need, so the session
    deploys it once: the stack is that scenario's, with its prefix, ports and
    state dir (MOLECULE_SETTINGS), and its purge is the scenario's destroy.
    Molecule's whole output goes to MOLECULE_LOG.
    """
    settings = yaml.safe_load(MOLECULE_SETTINGS.read_text())
    state_dir = MOLECULE_SCENARIO / "state"
    stack = LocalStack(
        "local-stack",
        SLOTS["local_stack"],
        ports={name: settings[name] for name in PORT_NAMES},
        daskhub_local_prefix=settings["daskhub_local_prefix"],
        daskhub_local_instance=settings["daskhub_local_instance"],
        daskhub_state_dir=str(state_dir),
    )
    stack.prefix = Path(settings["daskhub_local_prefix"])
    stack.state_dir = state_dir
    stack.python = stack.prefix / "venv/bin/python"
    molecule = [str(VENV_BIN / "molecule")]
    if stack.prefix.exists() or state_dir.exists():
        # Left by a run that was killed: --destroy never skips the first destroy too.
        subprocess.run(
            [*molecule, "destroy", "-s", "default"], cwd=ROOT, env=ansible_env(), capture_output=True, check=False
        )
    busy = stack.listening_ports()
    assert not busy, f"ports of Molecule's default scenario are taken: {', '.join(busy)}"
    proc = subprocess.run(
        [*molecule, "test", "-s", "default", "--destroy", "never"],
        cwd=ROOT,
        env=ansible_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
        check=False,
    )
    MOLECULE_LOG.parent.mkdir(parents=True, exist_ok=True)
    MOLECULE_LOG.write_text(proc.stdout)
    stack.deployed = True
    stack.deploy_output = proc.stdout
    stack.molecule_returncode = proc.returncode
    return stack


@pytest.fixture(scope="session")
def local_stack():
    """The session's shared stack: Molecule's default scenario (see molecule_default_stack)."""
    stack = molecule_default_stack()
    try:
        assert stack.molecule_returncode == 0, (
            f"molecule test -s default failed ({stack.molecule_returncode}); "
            f"{MOLECULE_LOG}:\n{stack.deploy_output[-6000:]}"
        )
        yield stack
    finally:
        stack.purge()


@pytest.fixture(scope="session")
def upgraded_stack(tmp_path_factory):
    """A private stack at OLD_JUPYTERHUB, then playbooks/upgrade.yml to the pin (see the module docstring)."""
    stack = LocalStack(
        "upgraded-stack",
        SLOTS["upgraded_stack"],
        daskhub_local_system_users=False,
        # The recovery tests (test_local_recovery.py) run its command as cron would.
        daskhub_local_supervisor_watchdog="cron",
        # Its servers tell the hub their activity every few seconds, not every 300: the culling test
        # (test_ops_cull.py) sees an active user's server kept and an idle one culled in a minute.
        daskhub_singleuser_extra_env={"JUPYTERHUB_ACTIVITY_INTERVAL": str(ACTIVITY_INTERVAL)},
    )
    try:
        old_versions = tmp_path_factory.mktemp("upgrade") / "old-versions.json"
        old_versions.write_text(
            json.dumps({"daskhub_local_versions": {**local_versions(), "jupyterhub": OLD_JUPYTERHUB}})
        )
        stack.deploy("-e", f"@{old_versions}")
        assert stack.hub_version() == OLD_JUPYTERHUB
        database = stack.prefix / "state/jupyterhub.sqlite"
        head_before, old_revision = alembic_head(stack.python), database_revision(database)
        # A user and a token made on the old hub, for the tests to find after.
        status, _ = stack.api("POST", "/users", body={"usernames": ["carol"]})
        assert status == 201, f"could not create carol: HTTP {status}"
        token = stack.user_token("alice", scopes=["read:users:name!user"])
        output = stack.playbook("playbooks/upgrade.yml", "-vvv").stdout
        yield Upgrade(
            stack=stack,
            old_version=OLD_JUPYTERHUB,
            old_revision=old_revision,
            new_revision=database_revision(database),
            head_before=head_before,
            head_after=alembic_head(stack.python),
            user_token=token,
            output=output,
        )
    finally:
        stack.purge()


@pytest.fixture(scope="module")
def upgraded_site(upgraded_stack):
    """The upgraded stack's :class:`LocalStack`, for tests that need any working site (mark them ``UPGRADED_STACK``).

    Shared-uid mode; they run after the upgrade tests and before the uninstall
    tests. Not the shared local stack: its group is the suite's longest.
    """
    return upgraded_stack.stack
