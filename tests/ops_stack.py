"""One deployed local-target stack shared by the tests of the day-2 playbooks.

tests/integration/test_ops_*.py call ``shared(request)``: the first call
deploys ``site.yml`` with a private inventory (its own ports and a prefix
under the temp dir, so it never meets another stack on this host) at an
older JupyterHub, so that the upgrade test can move it to the pinned one.
The stack is purged when pytest ends. Files run in name order: clusters,
jupyterhub_upgrade, rotate, uninstall (the destructive one last); each
also works alone.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
# Unusual ports, away from the defaults (8000-8003) and other tests' stacks.
PORTS = {"hub": 28731, "hub_api": 28732, "proxy_api": 28733, "gateway": 28734, "gateway_api": 28735}
# The JupyterHub the shared stack starts at; upgrade.yml then moves it to the
# role's pin. Same database schema as the pin (5.0 and later), so no
# upgrade-db step is involved.
OLD_JUPYTERHUB = "5.4.6"


def _port_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class OpsStack:
    def __init__(self, ports=None, tmp_prefix="daskhub-ops-"):
        # Other test files deploy their own stack on their own ports and prefix.
        self.ports = dict(ports or PORTS)
        self.root = Path(tempfile.mkdtemp(prefix=tmp_prefix))
        self.prefix = self.root / "prefix"
        self.inventory = self.root / "inventory"
        self.state_dir = self.inventory / "state"
        self.hub_url = f"http://127.0.0.1:{self.ports['hub']}"
        self.deployed = False
        self.jupyterhub_version = None
        self.broken = ""
        # The default site's inventory (the model, the verify service, ...)
        # without its state/, then this stack's prefix and ports over it.
        self.inventory.mkdir(parents=True)
        shutil.copytree(REPO / "inventories/local/group_vars", self.inventory / "group_vars")
        shutil.copy(REPO / "inventories/local/hosts.yml", self.inventory / "hosts.yml")
        site = yaml.safe_load((REPO / "inventories/local/group_vars/daskhub.yml").read_text())
        site.update(
            {
                "daskhub_local_prefix": str(self.prefix),
                "daskhub_local_hub_port": self.ports["hub"],
                "daskhub_local_hub_api_port": self.ports["hub_api"],
                "daskhub_local_proxy_api_port": self.ports["proxy_api"],
                "daskhub_local_gateway_port": self.ports["gateway"],
                "daskhub_local_gateway_api_port": self.ports["gateway_api"],
            }
        )
        (self.inventory / "group_vars/daskhub.yml").write_text(yaml.safe_dump(site))
        self.old_versions = self.root / "old-versions.json"
        role_defaults = yaml.safe_load((REPO / "roles/daskhub_local/defaults/main.yml").read_text())
        versions = role_defaults["daskhub_local_versions"]
        self.pinned_jupyterhub = str(versions["jupyterhub"])
        self.old_versions.write_text(json.dumps({"daskhub_local_versions": {**versions, "jupyterhub": OLD_JUPYTERHUB}}))

    # -- running playbooks ------------------------------------------------
    def playbook(self, name, *args, check=True, timeout=1800):
        """Run a playbook against this stack; returns the CompletedProcess (stdout+stderr in .stdout)."""
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        env["PATH"] = f"{REPO / '.venv/bin'}:{env.get('PATH', '')}"
        inventory = str(self.inventory / "hosts.yml")
        cmd = [str(REPO / ".venv/bin/ansible-playbook"), str(REPO / name), "-i", inventory, *args]
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd[1:])} failed ({proc.returncode}):\n{proc.stdout[-6000:]}")
        return proc

    def deploy(self, old=True):
        busy = [f"{name}={port}" for name, port in self.ports.items() if not _port_free(port)]
        if busy and not self.deployed:
            raise AssertionError(f"ports of the ops test stack are taken: {', '.join(busy)}")
        args = ["-e", f"@{self.old_versions}"] if old else []
        self.playbook("site.yml", *args)
        self.deployed = True
        self.jupyterhub_version = self.hub_version()

    def destroy(self):
        try:
            if self.prefix.exists() or self.state_dir.exists():
                self.playbook("playbooks/uninstall.yml", "-e", "purge=true", check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- reading the stack ---------------------------------------------------
    def secrets(self):
        return yaml.safe_load((self.state_dir / "secrets.yml").read_text())

    def api(self, method, path, token=None, body=None):
        """(status, JSON) of a hub API call; HTTP errors are returned, not raised."""
        req = urllib.request.Request(
            f"{self.hub_url}/hub/api{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"token {token or self.secrets()['user_sync_api_token']}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def hub_version(self):
        with urllib.request.urlopen(f"{self.hub_url}/hub/api", timeout=30) as resp:
            return json.loads(resp.read())["version"]

    def user_token(self, user, scopes=("access:services!service=dask-gateway",)):
        status, model = self.api("POST", f"/users/{user}/tokens", body={"scopes": list(scopes), "note": "ops test"})
        assert status in (200, 201), f"could not mint a token for {user}: HTTP {status}"
        return model["token"]

    def gateway(self, user, script):
        """Run a dask_gateway client snippet as ``user`` with the stack's Python; returns stdout."""
        code = (
            "from dask_gateway import Gateway\n"
            f"gateway = Gateway({self.hub_url + '/services/dask-gateway'!r}, "
            f"proxy_address='gateway://127.0.0.1:{self.ports['gateway']}', auth='jupyterhub')\n" + script
        )
        env = dict(os.environ, JUPYTERHUB_API_TOKEN=self.user_token(user))
        proc = subprocess.run(
            [str(self.prefix / "venv/bin/python"), "-c", code], env=env, capture_output=True, text=True, timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"dask_gateway as {user} failed:\n{proc.stderr[-3000:]}"
        return proc.stdout

    def start_cluster(self, user):
        """A running cluster of ``user`` with one worker, left running; returns its name."""
        out = self.gateway(
            user,
            "cluster = gateway.new_cluster(shutdown_on_close=False)\n"
            "cluster.scale(1)\n"
            "cluster.get_client().wait_for_workers(1, timeout=120)\n"
            "print(cluster.name)\n",
        )
        return out.strip().splitlines()[-1]

    def clusters_of(self, user):
        out = self.gateway(user, "print('\\n'.join(c.name for c in gateway.list_clusters()))\n")
        return sorted(line for line in out.splitlines() if line.strip())

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
        return [f"{name}={port}" for name, port in self.ports.items() if not _port_free(port)]

    def wait_for(self, predicate, timeout=60, what="condition"):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(1)


_STACKS: dict[str, OpsStack] = {}


def shared(request, ports=None, tmp_prefix="daskhub-ops-") -> OpsStack:
    """The session's stack on ``ports`` (default PORTS), deployed on first use and purged when pytest ends.

    The default stack starts at OLD_JUPYTERHUB for the upgrade test; a stack
    on other ports (another test file's own) at the pinned JupyterHub.
    """
    key = tmp_prefix
    stack = _STACKS.get(key)
    if stack is None:
        stack = _STACKS[key] = OpsStack(ports=ports, tmp_prefix=tmp_prefix)
        request.config.add_cleanup(stack.destroy)
    if stack.broken:
        raise AssertionError(f"the shared stack {tmp_prefix} did not deploy: {stack.broken}")
    if not stack.deployed:
        try:
            stack.deploy(old=ports is None and stack.jupyterhub_version is None)
        except AssertionError as err:
            # Later tests fail at once instead of deploying again.
            stack.broken = str(err)[:2000]
            raise
    return stack
