"""Real JupyterHub servers for tests and benchmarks.

JupyterHub (4.0.2, what daskhub 2024.1.1 runs, and 5.x, what the composed
jupyterhub chart runs) is installed from PyPI into cached virtualenvs
(support.chart_envs), configurable-http-proxy from npm into .cache/chp. A hub starts in a
couple of seconds with its database on tmpfs.

Use from pytest (``from support.hubs import ...``; tests/ is on sys.path) or
from scripts (bench/). The service tokens mirror what the daskhub targets
render for the user-sync service: its role's scopes, its admin-role
membership and the Authenticator settings come from
plugins/module_utils/model/ for a site whose admin is HUB_ADMIN, as
both targets render them (the ``user-sync-groups`` service: the same site
with daskhub_user_sync_groups set).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

from support import chart_envs, hub_api, logs
from support.browser import Browser
from support.stacks import free_port
from support.versions import GATEWAY_VERSION

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache"
# The oldest and the newest JupyterHub the project deploys: the hub image of
# daskhub 2024.1.1 (4.0.2) and the local target's pin (5.5.4). The hub image
# of jupyterhub 4.4.0 runs 5.5.0, a patch release of the same minor:
# tests/integration/test_chart_boot.py runs user-sync and verify against it,
# in that image's own environment with the chart's own hub config.
# Override with DASKHUB_TEST_HUB_VERSIONS="4.0.2,5.5.0,5.5.4".
HUB_VERSIONS = tuple(
    v.strip() for v in os.environ.get("DASKHUB_TEST_HUB_VERSIONS", "4.0.2,5.5.4").split(",") if v.strip()
)
CHP_VERSION = os.environ.get("DASKHUB_TEST_CHP_VERSION", "4.6.3")

# A user every test hub keeps: the site's admin, protected from deletion as
# the role protects daskhub_admin_users. It also keeps a 4.x hub's
# allowed_users non-empty, which 4.x would read as "everyone may log in".
HUB_ADMIN = "hubadmin"
DUMMY_PASSWORD = "test-password"


def rendered_site(manage_groups=False):
    """The user-sync service's role and the Authenticator config, as the targets render them.

    Returns (scopes, admin, authenticator traits) for a site whose only
    admin is HUB_ADMIN; with ``manage_groups``, one that syncs groups too.
    """
    collections = str(REPO_ROOT / ".collections")
    if collections not in sys.path:
        sys.path.insert(0, collections)
    from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model  # noqa: PLC0415

    from support.site_models import build_model  # noqa: PLC0415

    overrides = {"daskhub_admin_users": [HUB_ADMIN], "daskhub_users": []}
    if manage_groups:
        overrides["daskhub_user_sync_groups"] = {"physics": []}
    model = build_model(**overrides)
    roles = hub_model.hub_roles(model, GATEWAY_VERSION)
    (role,) = [role for role in roles if hub_model.USER_SYNC_SERVICE in role.get("services", [])]
    admin = hub_model.hub_services(model, None)[hub_model.USER_SYNC_SERVICE]["admin"]
    return role["scopes"], admin, hub_model.hub_config(model, GATEWAY_VERSION)["Authenticator"]


_USER_SYNC_SCOPES, _USER_SYNC_ADMIN, _AUTHENTICATOR = rendered_site()
_GROUP_SYNC_SCOPES, _GROUP_SYNC_ADMIN, _ = rendered_site(manage_groups=True)


@contextlib.contextmanager
def _file_lock(path):
    """Serialise cache builds between pytest-xdist workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd, log, **kw):
    with open(log, "a") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False, **kw)
    if proc.returncode:
        tail = Path(log).read_text()[-3000:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{tail}")


def ensure_chp():
    """Path of the cached configurable-http-proxy executable."""
    prefix = CACHE_DIR / f"chp-{CHP_VERSION}"
    exe = prefix / "node_modules/.bin/configurable-http-proxy"
    with _file_lock(CACHE_DIR / ".chp.lock"):
        if not exe.exists():
            if not shutil.which("npm"):
                raise RuntimeError("npm is needed to install configurable-http-proxy (apt-get install npm)")
            npm = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix)]
            _run([*npm, f"configurable-http-proxy@{CHP_VERSION}"], CACHE_DIR / "chp-install.log")
    return exe


class Hub:
    """A running JupyterHub behind a real configurable-http-proxy."""

    SERVICES: ClassVar[dict] = {
        # What the targets render: only the scopes it needs, plus the admin role.
        "user-sync": {"scopes": _USER_SYNC_SCOPES, "admin": _USER_SYNC_ADMIN},
        # Misconfigured on purpose: the errors a site gets without the admin role or a scope.
        "user-sync-noadmin": {"scopes": _USER_SYNC_SCOPES, "admin": False},
        "user-sync-readonly": {"scopes": ["list:users", "read:users"], "admin": False},
        "user-sync-groups": {"scopes": _GROUP_SYNC_SCOPES, "admin": _GROUP_SYNC_ADMIN},
        # The tests' own eyes and hands, independent of the code under test.
        "test-admin": {"scopes": None, "admin": True},
    }

    def __init__(self, version, workdir=None, log_level="WARN"):
        self.version = version
        self.major = int(version.split(".")[0])
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"hub-{version}-"))
        self.log_level = log_level
        self.tokens = {name: secrets.token_hex(32) for name in self.SERVICES}
        self.proc = None
        self.port = self.hub_port = self.proxy_api_port = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self):
        return f"{self.url}/hub/api"

    @property
    def token(self):
        return self.tokens["user-sync"]

    def config(self, chp):
        roles = [
            {"name": f"role-{name}", "scopes": spec["scopes"], "services": [name]}
            for name, spec in self.SERVICES.items()
            if spec["scopes"]
        ]
        roles.append({"name": "admin", "services": [n for n, s in self.SERVICES.items() if s["admin"]]})
        services = [{"name": name, "api_token": tok} for name, tok in self.tokens.items()]
        lines = [
            "c.JupyterHub.ip = '127.0.0.1'",
            f"c.JupyterHub.port = {self.port}",
            "c.JupyterHub.hub_ip = '127.0.0.1'",
            f"c.JupyterHub.hub_port = {self.hub_port}",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.proxy_api_port}'",
            f"c.ConfigurableHTTPProxy.command = [{str(chp)!r}]",
            f"c.ConfigurableHTTPProxy.auth_token = {secrets.token_hex(16)!r}",
            f"c.JupyterHub.db_url = 'sqlite:///{self.workdir}/jupyterhub.sqlite'",
            f"c.JupyterHub.cookie_secret_file = '{self.workdir}/cookie_secret'",
            f"c.JupyterHub.pid_file = '{self.workdir}/jupyterhub.pid'",
            "c.JupyterHub.authenticator_class = 'dummy'",
            f"c.DummyAuthenticator.password = {DUMMY_PASSWORD!r}",
            *(f"c.Authenticator.{trait} = {value!r}" for trait, value in _AUTHENTICATOR.items()),
            f"c.JupyterHub.services = {services!r}",
            f"c.JupyterHub.load_roles = {roles!r}",
            "c.JupyterHub.last_activity_interval = 3600",
            f"c.Application.log_level = {self.log_level!r}",
        ]
        return "\n".join(lines) + "\n"

    def start(self, timeout=60, keep_ports=False):
        """Start the hub (and its proxy); ``keep_ports`` restarts it where it was."""
        venv = chart_envs.jupyterhub_env(self.version)
        chp = ensure_chp()
        if not (keep_ports and self.port):
            self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        cfg = self.workdir / "jupyterhub_config.py"
        cfg.write_text(self.config(chp))
        env = dict(os.environ)
        env["PATH"] = f"{venv / 'bin'}:{chp.parent}:{env.get('PATH', '')}"
        self.log_path = self.workdir / "jupyterhub.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115  open for the process's lifetime
        self.proc = subprocess.Popen(
            [str(venv / "bin/jupyterhub"), "-f", str(cfg)],
            cwd=self.workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterHub {self.version} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                self.api("GET", "/")
                return self
            except hub_api.HubAPIError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"JupyterHub {self.version} did not answer in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, chars=4000):
        return logs.tail(self.log_path, chars)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # The hub stops the proxy it started on SIGTERM.
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- direct API access for test set-up and assertions ------------------
    def api(self, method, path, body=None, service="test-admin", accept=None):
        """The JSON answer of an API call as ``service`` (support.hub_api); an error answer raises HubAPIError."""
        return hub_api.call(self.api_url, self.tokens[service], method, path, body=body, accept=accept)[1]

    def users(self):
        """{name: admin} of every user, read page by page."""
        out, offset = {}, 0
        while True:
            page = self.api("GET", f"/users?offset={offset}&limit=200", accept="application/jupyterhub-pagination+json")
            for u in page["items"]:
                out[u["name"]] = bool(u["admin"])
            nxt = page["_pagination"]["next"]
            if not nxt:
                return out
            offset = nxt["offset"]

    def add_users(self, names, admin=False):
        names = list(names)
        for i in range(0, len(names), 1000):
            self.api("POST", "/users", {"usernames": names[i : i + 1000], "admin": admin})

    def groups(self):
        page = self.api("GET", "/groups?limit=200", accept="application/jupyterhub-pagination+json")
        return {g["name"]: sorted(g["users"]) for g in page["items"]}

    def reset(self):
        """Back to the start state: only HUB_ADMIN (an admin), no groups."""
        doomed = [name for name in self.users() if name != HUB_ADMIN]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda name: self.api("DELETE", f"/users/{name}"), doomed))
        for group in self.groups():
            self.api("DELETE", f"/groups/{group}")
        if HUB_ADMIN not in self.users():
            self.add_users([HUB_ADMIN], admin=True)
        self.api("PATCH", f"/users/{HUB_ADMIN}", {"admin": True})

    def login(self, username, password=DUMMY_PASSWORD):
        """Log in through the proxy with the hub's form (support.browser); True if the hub let us in."""
        try:
            # To the home page, not the default /hub/spawn: these hubs spawn no servers.
            landed = Browser(self.url).login(username, password, next_path="/hub/home")
        except urllib.error.HTTPError:
            return False  # a refused login: 403 on some versions
        # A refused one re-renders the login page; an accepted one goes on to the home page.
        return "/hub/login" not in urllib.parse.urlsplit(landed).path


def start_hub(version, **kw):
    return Hub(version, **kw).start()


# -- pytest fixtures: `from support.hubs import hub_fixture, fresh_hub` -----
try:
    import pytest
except ImportError:  # scripts (bench/) use Hub without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(name="hub", scope="session", params=HUB_VERSIONS, ids=lambda v: f"jupyterhub-{v}")
    def hub_fixture(request):
        """One running hub per JupyterHub version for the whole session."""
        started = Hub(request.param).start()
        yield started
        started.stop()

    @pytest.fixture
    def fresh_hub(hub):
        """The session's hub, reset to only HUB_ADMIN before the test."""
        hub.reset()
        return hub
