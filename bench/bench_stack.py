"""The benchmarks' own stack: the default inventory deployed by the project's playbooks into a temp prefix.

Used by bench/load_users.py and bench/verify_steps.py; no test helper
(tests/support is the tests' harness, with its own ports and fixtures). A
:class:`Site` copies ``inventories/local`` of the checkout it measures,
adds a group_vars file of the bench's settings (prefix, state dir, instance
name, five ports from ``port_base``, anything else given), and runs that
checkout's ``site.yml``, ``playbooks/*.yml`` and ``ansible.cfg``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / ".collections"))

from ansible_collections.daskhub.deploy.plugins.module_utils.host import health
from ansible_collections.daskhub.deploy.plugins.module_utils.host import ports as host_ports
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import local_settings

# The role's five port variables (the project's own list), from port_base up.
PORT_NAMES = tuple(f"daskhub_local_{name}" for name in local_settings.PORT_NAMES)
# What a browser's user sees while the hub (and its proxy) restart.
TRANSIENT = (urllib.error.URLError, ConnectionError, TimeoutError, OSError)


def playbook(repo: Path, inventory: Path, name: str, *args: str, env: dict | None = None):
    """ansible-playbook ``name`` of checkout ``repo`` (its venv and ansible.cfg) against ``inventory``."""
    environment = dict(os.environ, ANSIBLE_CONFIG=str(repo / "ansible.cfg"), **(env or {}))
    return subprocess.run(
        [str(repo / ".venv/bin/ansible-playbook"), "-i", str(inventory), str(repo / name), *args],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )


def task_result(output: str, task_name: str) -> dict | None:
    """The result of the last task called ``task_name`` (role prefix ignored) in ``ansible.builtin.json`` output."""
    found = None
    for play in json.loads(output)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].split(" : ", 1)[-1] == task_name:
                found = next(iter(task["hosts"].values()))
    return found


class Site:
    """The bench's own stack: the default inventory with its own prefix, state, instance and ports."""

    def __init__(self, repo: Path, port_base: int, name: str = "bench", **overrides):
        self.repo = repo
        self.root = Path(tempfile.mkdtemp(prefix=f"daskhub-{name}-"))
        # As root the stack's accounts run the venv under the prefix: its parents must be searchable.
        self.root.chmod(0o755)
        self.prefix = self.root / "prefix"
        self.state = self.root / "state"
        self.ports = {port: port_base + offset for offset, port in enumerate(PORT_NAMES)}
        self.hub_url = f"http://127.0.0.1:{self.ports['daskhub_local_hub_port']}"
        self.inventory = self.root / "inventory"
        shutil.copytree(repo / "inventories/local", self.inventory)
        settings = {
            "daskhub_state_dir": str(self.state),
            "daskhub_local_prefix": str(self.prefix),
            "daskhub_local_instance": f"daskhub-bench-{self.root.name[-8:]}",
            **self.ports,
            **overrides,
        }
        # The bench's settings load after the model (group_vars/daskhub/main.yml). A checkout from before
        # that folder has group_vars/daskhub.yml, which then becomes the folder's model.yml.
        model = self.inventory / "group_vars/daskhub.yml"
        (self.inventory / "group_vars/daskhub").mkdir(exist_ok=True)
        if model.is_file():
            model.rename(self.inventory / "group_vars/daskhub/model.yml")
        (self.inventory / "group_vars/daskhub/zz-bench.yml").write_text(yaml.safe_dump(settings))

    def busy_ports(self) -> list[str]:
        """The stack's ports something listens on, and who (the project's own /proc reader)."""
        held = {name: (port, host_ports.port_holders(port)) for name, port in self.ports.items()}
        return [f"{name}={port} ({holder})" for name, (port, holder) in held.items() if holder]

    def playbook(self, name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return playbook(self.repo, self.inventory, name, *args, env=env)

    def purge(self) -> None:
        """playbooks/uninstall.yml -e purge=true, supervisord stopped if it is left, the temp dir removed."""
        try:
            self.playbook("playbooks/uninstall.yml", "-e", "purge=true")
            if (self.prefix / "run/supervisord.sock").exists():
                self.ctl("shutdown")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def password(self) -> str:
        return yaml.safe_load((self.state / "secrets.yml").read_text())["dummy_password"]

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.prefix / "venv/bin/supervisorctl"), "-c", str(self.prefix / "etc/supervisord.conf"), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def healthy(self) -> bool:
        """The hub's API and the gateway through the hub answer, as the deploy's own health check asks."""
        return all(health.check_once(name, url)[0] for name, url in health.health_checks(self.hub_url))
