"""User sync against real JupyterHub servers (4.0.2 and 5.x), through ansible-playbook.

The role runs with stub daskhub_model/daskhub_secrets roles in front of the
real ones: the hub URL and the user-sync token come from a vars file, the way
an admin passes them with -e @file, so these tests do not depend on the
site model or the secrets store (tested elsewhere).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import hub_fixtures
import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.user_sources import SourceError, read_source
from hub_fixtures import HUB_ADMIN, REPO_ROOT
from support.playbooks import ansible_env, recap, run_playbook, start_playbook, task_result
from support.stacks import free_port

pytestmark = pytest.mark.hub
# The shared fixtures: one running hub per JupyterHub version.
hub_fixture = hub_fixtures.hub_fixture
fresh_hub = hub_fixtures.fresh_hub
# For what does not depend on the hub version: the newest hub only, rather than a skip on the others.
newest_hub_only = pytest.mark.parametrize(
    "hub", [hub_fixtures.HUB_VERSIONS[-1]], indirect=True, ids=lambda v: f"jupyterhub-{v}"
)

SYNC_TASK = "Sync the hub's users and admins"
SOURCE_TASK = "Read the desired users from every source"


@pytest.fixture
def work(tmp_path):
    """Stub dependency roles and a state dir for one test."""
    for role in ("daskhub_model", "daskhub_secrets"):
        tasks = tmp_path / "roles" / role / "tasks"
        tasks.mkdir(parents=True)
        (tasks / "main.yml").write_text("---\n- name: Stub\n  ansible.builtin.meta: noop\n")
    # The model's defaults are real (daskhub_user_sync_manage_admins and the
    # like); only its validation and the secrets store are stubbed.
    defaults = tmp_path / "roles" / "daskhub_model" / "defaults"
    defaults.mkdir()
    shutil.copy(REPO_ROOT / "roles" / "daskhub_model" / "defaults" / "main.yml", defaults / "main.yml")
    return tmp_path


def _env(work, callback="ansible.builtin.json"):
    return ansible_env(ANSIBLE_ROLES_PATH=f"{work / 'roles'}:{REPO_ROOT / 'roles'}", ANSIBLE_STDOUT_CALLBACK=callback)


def _vars_file(work, hub, service="user-sync", name="vars.json", **extra):
    data = {
        "daskhub_hub_api_url": hub.api_url if hub else extra.pop("api_url"),
        "daskhub_secrets": {"user_sync_api_token": hub.tokens[service] if hub else extra.pop("token")},
        "daskhub_state_dir": str(work / "state"),
        "daskhub_users": [],
        "daskhub_admin_users": [HUB_ADMIN],
        # These hubs have no Dask Gateway to ask for the removed users' clusters.
        "daskhub_user_sync_removed_user_clusters": "ignore",
    }
    data.update(extra)
    path = work / name
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


def run_sync(work, hub, *args, service="user-sync", **role_vars):
    """Run playbooks/user-sync.yml; returns (process, sync result, full JSON)."""
    vars_path = _vars_file(work, hub, service=service, **role_vars)
    proc = run_playbook("playbooks/user-sync.yml", "-e", f"@{vars_path}", *args, env=_env(work))
    try:
        output = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON from ansible-playbook (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc, task_result(output, SYNC_TASK), output


def run_module(work, hub_or_url, token, **params):
    """Run the module alone in a one-task playbook; returns (rc, result)."""
    api_url = hub_or_url if isinstance(hub_or_url, str) else hub_or_url.api_url
    task = {"name": "Module", "daskhub.deploy.jupyterhub_users": {"api_url": api_url, "token": token, **params}}
    play = [{"name": "Module", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]
    book = work / "module.yml"
    book.write_text(yaml.safe_dump(play))
    proc = run_playbook(str(book), env=_env(work))
    return proc.returncode, task_result(proc.stdout, "Module")


# -- the main path -----------------------------------------------------------


def test_add_remove_admin_flips_then_idempotent(work, fresh_hub):
    hub = fresh_hub
    hub.add_users(["old1", "old2", "promote-me"])
    hub.add_users(["demote-me"], admin=True)
    desired = {"daskhub_users": ["Alice", " bob ", "promote-me", "demote-me"], "daskhub_admin_users": [HUB_ADMIN]}
    extra_admins = {"type": "list", "name": "admins", "admins": ["promote-me", "carol"]}

    proc, res, _ = run_sync(work, hub, "--diff", daskhub_user_sync_sources=[extra_admins], **desired)
    assert proc.returncode == 0, proc.stdout
    assert res["changed"] is True
    assert res["added"] == ["alice", "bob", "carol"]
    assert res["removed"] == ["old1", "old2"]
    assert res["admins_granted"] == ["carol", "promote-me"]
    assert res["admins_revoked"] == ["demote-me"]
    assert "+alice" in res["diff"]["after"] or "alice" in res["diff"]["after"]
    assert "old1" in res["diff"]["before"] and "old1" not in res["diff"]["after"]
    assert hub.users() == {
        "alice": False,
        "bob": False,
        "carol": True,
        "demote-me": False,
        "promote-me": True,
        HUB_ADMIN: True,
    }
    # Users added through the API log in (JupyterHub 5 needs
    # allow_existing_users), deleted and unknown users do not.
    assert hub.login("alice") is True
    assert hub.login("old1") is False

    # Second run, at -vvv: nothing to change, and the token never printed.
    vars_path = _vars_file(work, hub, daskhub_user_sync_sources=[extra_admins], **desired)
    verbose = run_playbook(
        *("playbooks/user-sync.yml", "-e", f"@{vars_path}", "-vvv", "--diff"),
        env=_env(work, callback="ansible.builtin.default"),
    )
    assert verbose.returncode == 0, verbose.stdout[-3000:]
    assert recap(verbose.stdout)["changed"] == 0, verbose.stdout[-2000:]
    assert hub.token not in verbose.stdout + verbose.stderr


def test_check_mode_changes_nothing(work, fresh_hub):
    hub = fresh_hub
    hub.add_users(["old1", "keep"])
    before = hub.users()
    proc, res, _ = run_sync(
        work, hub, "--check", "--diff", daskhub_users=["keep", "new1"], daskhub_admin_users=[HUB_ADMIN, "new-admin"]
    )
    assert proc.returncode == 0, proc.stdout
    assert res["changed"] is True
    assert res["added"] == ["new-admin", "new1"]
    assert res["removed"] == ["old1"]
    assert res["admins_granted"] == ["new-admin"]
    assert "new-admin (admin)" in res["diff"]["after"]
    assert hub.users() == before


def test_protected_users_are_kept(work, fresh_hub):
    hub = fresh_hub
    hub.add_users(["keepme"], admin=True)
    hub.add_users(["old"])
    proc, res, _ = run_sync(work, hub, daskhub_users=["alice"], daskhub_user_sync_protected_users=["keepme"])
    assert proc.returncode == 0, proc.stdout
    assert res["removed"] == ["old"]
    assert res["kept_protected"] == ["keepme"]
    assert res["admins_revoked"] == []
    assert hub.users() == {"alice": False, "keepme": True, HUB_ADMIN: True}


def test_deletion_threshold_fails_with_nothing_changed_then_force(work, fresh_hub):
    hub = fresh_hub
    hub.add_users([f"u{i}" for i in range(9)])
    before = hub.users()  # 10 users with hubadmin
    desired = {"daskhub_users": ["u0", "u1", "newcomer"], "daskhub_user_sync_max_deletions": "50%"}

    proc, res, _ = run_sync(work, hub, **desired)
    assert proc.returncode != 0
    assert "7 user(s) would be deleted, more than max_deletions=50%" in res["msg"]
    assert "Nothing was changed" in res["msg"]
    assert hub.users() == before

    proc, res, _ = run_sync(work, hub, daskhub_user_sync_force_deletions=True, **desired)
    assert proc.returncode == 0, proc.stdout
    assert len(res["removed"]) == 7
    assert hub.users() == {"u0": False, "u1": False, "newcomer": False, HUB_ADMIN: True}


def test_more_than_200_users_pagination(work, fresh_hub):
    hub = fresh_hub
    existing = [f"user{i:04d}" for i in range(260)]
    hub.add_users(existing)
    desired = existing[30:] + [f"new{i:02d}" for i in range(20)]
    proc, res, _ = run_sync(work, hub, daskhub_users=desired, daskhub_user_sync_max_deletions="")
    assert proc.returncode == 0, proc.stdout
    assert res["counts"]["current"] == 261
    assert res["removed"] == existing[:30]
    assert res["added"] == [f"new{i:02d}" for i in range(20)]
    assert set(hub.users()) == set(desired) | {HUB_ADMIN}
    _, again, _ = run_sync(work, hub, daskhub_users=desired, daskhub_user_sync_max_deletions="")
    assert again["changed"] is False


# -- errors a human can act on ----------------------------------------------


def test_bad_token_says_401(work, fresh_hub):
    rc, res = run_module(work, fresh_hub, "not-the-token-" + "0" * 20, users=["alice"])
    assert rc != 0
    assert "the hub rejected the API token" in res["msg"]
    assert "wrong, expired or revoked" in res["msg"]


def test_missing_scope_and_missing_admin_role(work, fresh_hub):
    hub = fresh_hub
    rc, res = run_module(work, hub, hub.tokens["user-sync-readonly"], users=["alice"])
    assert rc != 0
    assert "admin:users" in res["msg"]
    assert "alice" not in hub.users()

    # Admin changes need the admin role; the check comes before any change,
    # so alice is not added half-way (JupyterHub 4.0.2 itself would let a
    # non-admin with admin:users grant admin, 5.x answers 403).
    rc, res = run_module(work, hub, hub.tokens["user-sync-noadmin"], users=["alice"], admins=["carol", HUB_ADMIN])
    assert rc != 0
    assert "must be in the JupyterHub 'admin' role" in res["msg"]
    assert set(hub.users()) == {HUB_ADMIN}

    # Without admins, the same token manages users fine.
    rc, res = run_module(work, hub, hub.tokens["user-sync-noadmin"], users=["alice"])
    assert rc == 0, res
    assert res["added"] == ["alice"]


def test_hub_down(work):
    url = f"http://127.0.0.1:{free_port()}/hub/api"
    rc, res = run_module(work, url, "x" * 64, users=["alice"], retries=1, timeout=2)
    assert rc != 0
    assert f"cannot reach the JupyterHub API at {url}" in res["msg"]
    assert "Is the hub running" in res["msg"]


@newest_hub_only  # the lock, the input checks and the sources: not hub-facing
def test_invalid_names_all_reported_before_any_change(work, fresh_hub):
    hub = fresh_hub
    hub.add_users(["old"])
    before = hub.users()
    proc, res, _ = run_sync(work, hub, daskhub_users=["good", "bad/name", "two words", "Fine"])
    assert proc.returncode != 0
    assert "2 invalid username(s) in users" in res["msg"]
    assert "'bad/name'" in res["msg"] and "'two words'" in res["msg"]
    assert hub.users() == before


@newest_hub_only  # the lock, the input checks and the sources: not hub-facing
def test_empty_or_unreadable_source_fails_closed(work, fresh_hub):
    hub = fresh_hub
    hub.add_users(["alice", "bob"])
    before = hub.users()
    empty = work / "users.csv"
    empty.write_text("username,admin\n")

    proc, _, out = run_sync(
        work,
        hub,
        daskhub_user_sync_include_inventory=False,
        daskhub_user_sync_sources=[{"type": "file", "path": str(empty)}],
    )
    assert proc.returncode != 0
    assert "returned no users" in task_result(out, SOURCE_TASK)["msg"]
    assert hub.users() == before

    proc, _, out = run_sync(work, hub, daskhub_user_sync_sources=[{"type": "file", "path": str(work / "missing.yml")}])
    assert proc.returncode != 0
    assert "cannot read the user file" in task_result(out, SOURCE_TASK)["msg"]
    assert hub.users() == before

    # The inventory alone may be empty (a static list), but the module
    # refuses to empty a hub that has users.
    proc, res, _ = run_sync(work, hub, daskhub_admin_users=[])
    assert proc.returncode != 0
    assert "desired user list is empty while the hub has 3 user(s)" in res["msg"]
    assert hub.users() == before


@newest_hub_only  # the lock, the input checks and the sources: not hub-facing
def test_two_concurrent_runs_are_serialised(work, fresh_hub):
    hub = fresh_hub
    hub.add_users([f"old{i}" for i in range(40)])
    desired = {"daskhub_users": [f"new{i}" for i in range(40)], "daskhub_user_sync_max_deletions": ""}
    procs = []
    for n in range(2):
        vars_path = _vars_file(work, hub, name=f"vars{n}.json", **desired)
        procs.append(
            start_playbook("playbooks/user-sync.yml", "-e", f"@{vars_path}", env=_env(work))
        )
    outputs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    results = [task_result(o, SYNC_TASK) for o in outputs]
    # Under the lock the second run plans against the finished first one.
    assert sorted(r["changed"] for r in results) == [False, True]
    assert set(hub.users()) == set(desired["daskhub_users"]) | {HUB_ADMIN}


HOLD_SECONDS = 20


@newest_hub_only  # the lock, the input checks and the sources: not hub-facing
def test_lock_wait_times_out_with_a_clear_message(work, fresh_hub):
    hub = fresh_hub
    lock = work / "state" / "user-sync.lock"
    holder = work / "holder.yml"
    holder.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Hold",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "Lock", "daskhub.deploy.run_lock": {"path": str(lock), "label": "holder"}},
                        {"name": "Touch", "ansible.builtin.file": {"path": str(work / "held"), "state": "touch"}},
                        {"name": "Wait", "ansible.builtin.pause": {"seconds": HOLD_SECONDS}},
                    ],
                }
            ]
        )
    )
    held = start_playbook(str(holder), env=_env(work))
    deadline = time.monotonic() + 30
    while not (work / "held").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    started = time.monotonic()
    proc, _, out = run_sync(work, hub, daskhub_users=["alice"], daskhub_user_sync_lock_timeout=1)
    waited = time.monotonic() - started
    # It gave up after its lock timeout, while the holder still held the lock
    # (a clock on a busy machine would measure ansible's start-up too).
    holder_still_running = held.poll() is None
    assert proc.returncode != 0
    msg = task_result(out, "Take the per-site user-sync lock")["msg"]
    assert "another run holds the lock" in msg and "holder" in msg
    assert holder_still_running
    assert waited < HOLD_SECONDS
    assert "alice" not in hub.users()
    # A run killed while it holds the lock leaves no stale lock: the kernel
    # drops the flock with its holder, which ends with the run it watches.
    held.kill()
    held.communicate(timeout=60)
    proc, res, _ = run_sync(work, hub, daskhub_users=["alice"], daskhub_user_sync_lock_timeout=30)
    assert proc.returncode == 0, proc.stdout
    assert res["added"] == ["alice"]


# -- sources and groups (one hub version is enough: no hub differences) -------


class _JSONHandler(BaseHTTPRequestHandler):
    payload = b""

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer iam-token":
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def iam_endpoint():
    _JSONHandler.payload = json.dumps(
        {
            "group": "analysis",
            "members": [
                {"username": "Dora", "role": "member"},
                {"username": "erin", "role": "admin"},
            ],
        }
    ).encode()
    server = HTTPServer(("127.0.0.1", 0), _JSONHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/groups/analysis"
    server.shutdown()


SLAPD_CONF = """
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw {password}
directory {dir}/db
"""


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    """A real OpenLDAP slapd (Debian's slapd package, scripts/test-deps.sh) with two groups."""
    exe = shutil.which("slapd") or "/usr/sbin/slapd"
    if not Path(exe).exists():
        pytest.skip("slapd is not installed (scripts/test-deps.sh installs it)")
    import ldap3  # noqa: PLC0415

    base = tmp_path_factory.mktemp("slapd")
    (base / "db").mkdir()
    password = secrets.token_hex(12)
    (base / "slapd.conf").write_text(SLAPD_CONF.format(dir=base, password=password))
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    # -d 0 keeps slapd in the foreground, so the fixture owns the process.
    proc = subprocess.Popen(
        [exe, "-f", str(base / "slapd.conf"), "-h", f"{url}/", "-d", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    bind_dn = "cn=admin,dc=example,dc=org"
    deadline = time.monotonic() + 20
    while True:
        try:
            conn = ldap3.Connection(url, bind_dn, password, auto_bind=True)
            break
        except ldap3.core.exceptions.LDAPException:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"slapd did not start: {proc.stderr.read()}")
            time.sleep(0.1)
    conn.add("dc=example,dc=org", ["dcObject", "organization"], {"o": "example", "dc": "example"})
    for ou in ("people", "groups"):
        conn.add(f"ou={ou},dc=example,dc=org", ["organizationalUnit"], {"ou": ou})
    ivan = "uid=ldap-ivan,ou=people,dc=example,dc=org"
    # Named by cn, so the reader must look up its uid.
    judy = "cn=Judy,ou=people,dc=example,dc=org"
    conn.add(ivan, ["inetOrgPerson"], {"cn": "Ivan", "sn": "I", "uid": "ldap-ivan"})
    conn.add(judy, ["inetOrgPerson"], {"cn": "Judy", "sn": "J", "uid": "ldap-judy"})
    conn.add("cn=hub,ou=groups,dc=example,dc=org", ["groupOfNames"], {"cn": "hub", "member": [ivan, judy]})
    conn.add("cn=hub-admins,ou=groups,dc=example,dc=org", ["groupOfNames"], {"cn": "hub-admins", "member": [judy]})
    assert conn.result["result"] == 0, conn.result
    conn.unbind()
    yield {
        "url": url,
        "bind_dn": bind_dn,
        "bind_password": password,
        "group_dn": "cn=hub,ou=groups,dc=example,dc=org",
        "admin_group_dn": "cn=hub-admins,ou=groups,dc=example,dc=org",
    }
    proc.terminate()
    proc.wait(10)


@newest_hub_only
def test_combined_sources_and_groups(work, fresh_hub, iam_endpoint, slapd):
    hub = fresh_hub
    csv_file = work / "users.csv"
    csv_file.write_text("username,admin\nfrank,no\ngrace,yes\n")
    yaml_file = work / "users.yml"
    yaml_file.write_text(yaml.safe_dump({"users": ["heidi"], "admins": []}))
    sources = [
        {"type": "file", "path": str(csv_file)},
        {"type": "file", "path": str(yaml_file)},
        {
            "type": "http",
            "url": iam_endpoint,
            "bearer_token": "iam-token",
            "users_query": "members[].username",
            "admins_query": "members[?role=='admin'].username",
        },
        {
            "type": "ldap",
            "server": slapd["url"],
            "bind_dn": slapd["bind_dn"],
            "bind_password": slapd["bind_password"],
            "group_dn": slapd["group_dn"],
            "admin_group_dn": slapd["admin_group_dn"],
        },
    ]
    expected = {
        "alice": False,
        "dora": False,
        "erin": True,
        "frank": False,
        "grace": True,
        "heidi": False,
        "ldap-ivan": False,
        "ldap-judy": True,
        HUB_ADMIN: True,
    }
    members = ["alice", "dora", "ldap-ivan"]
    proc, _res, out = run_sync(
        work,
        hub,
        service="user-sync-groups",
        daskhub_users=["alice"],
        daskhub_user_sync_sources=sources,
        daskhub_user_sync_groups={"physics": members},
    )
    assert proc.returncode == 0, proc.stdout
    src = task_result(out, SOURCE_TASK)
    # The inventory's list first, then each source in order.
    assert [s["users"] for s in src["sources"]] == [1, 2, 1, 2, 2]
    assert hub.users() == expected
    assert hub.groups() == {"physics": members}
    assert slapd["bind_password"] not in proc.stdout
    _, again, _ = run_sync(
        work,
        hub,
        service="user-sync-groups",
        daskhub_users=["alice"],
        daskhub_user_sync_sources=sources,
        daskhub_user_sync_groups={"physics": members},
    )
    assert again["changed"] is False


def test_ldap_search_mode_and_source_errors(slapd, iam_endpoint):
    """Source readers against the real slapd and HTTP server, without a hub."""
    # A float timeout, as the module passes it (ldap3 wants whole seconds).
    base = {"type": "ldap", "server": slapd["url"], "bind_dn": slapd["bind_dn"], "timeout": 5.0}
    group = read_source({**base, "bind_password": slapd["bind_password"], "group_dn": slapd["group_dn"]})
    assert sorted(group.users) == ["ldap-ivan", "ldap-judy"]
    found = read_source(
        {**base, "bind_password": slapd["bind_password"], "search_base": "ou=people,dc=example,dc=org"}
        | {"search_filter": "(objectClass=inetOrgPerson)"}
    )
    assert sorted(found.users) == ["ldap-ivan", "ldap-judy"]
    with pytest.raises(SourceError, match="bind as cn=admin,dc=example,dc=org failed"):
        read_source({**base, "bind_password": "wrong", "group_dn": slapd["group_dn"]})
    with pytest.raises(SourceError, match="group cn=nope,dc=example,dc=org not found"):
        read_source({**base, "bind_password": slapd["bind_password"], "group_dn": "cn=nope,dc=example,dc=org"})
    with pytest.raises(SourceError, match="cannot reach LDAP source"):
        read_source({**base, "server": f"ldap://127.0.0.1:{free_port()}", "group_dn": slapd["group_dn"]})
    with pytest.raises(SourceError, match="answered HTTP 401"):
        read_source({"type": "http", "url": iam_endpoint, "users_query": "members[].username"})
    with pytest.raises(SourceError, match="matched nothing"):
        read_source({"type": "http", "url": iam_endpoint, "bearer_token": "iam-token", "users_query": "people"})


# -- the schedule -------------------------------------------------------------

CRON = Path("/usr/sbin/cron")
CRON_D = Path("/etc/cron.d")


@pytest.fixture(scope="session")
def crontab():
    """ansible.builtin.cron needs the crontab program even for a cron_file (scripts/test-deps.sh installs cron)."""
    if not shutil.which("crontab"):
        pytest.skip("the crontab program is missing (scripts/test-deps.sh installs cron)")
    return shutil.which("crontab")


@contextlib.contextmanager
def cron_daemon():
    """A cron daemon of the test's own, in the foreground, stopped at the end.

    Debian's cron reads /etc/cron.d; it needs root, and only one runs per host.
    """
    if not CRON.exists():
        pytest.skip("no cron daemon (scripts/test-deps.sh installs cron)")
    if os.geteuid() != 0 or not os.access(CRON_D, os.W_OK):
        pytest.skip("a cron daemon reads /etc/cron.d only as root; this test is not root")
    running = subprocess.run(["pgrep", "-x", "cron"], capture_output=True, check=False).returncode == 0
    if running:
        pytest.fail("a cron daemon already runs on this host; the test must start its own to see it fire")
    proc = subprocess.Popen([str(CRON), "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        assert proc.poll() is None, f"cron did not start: {proc.stderr.read().decode(errors='replace')}"
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


@newest_hub_only
def test_schedule_installs_cron_and_cron_runs_the_sync(work, fresh_hub, crontab):
    hub = fresh_hub
    inventory = work / "inventories" / "testsite"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "daskhub": {
                            "hosts": {
                                "localhost": {
                                    "ansible_connection": "local",
                                    "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                                }
                            }
                        }
                    }
                }
            }
        )
    )
    group_vars = json.loads(_vars_file(work, hub, daskhub_users=["scheduled-user"]).read_text())
    (inventory / "group_vars" / "daskhub.yml").write_text(yaml.safe_dump(group_vars))
    # Where the cron daemon reads it; a name without dots (cron skips those).
    cron_file = CRON_D / f"daskhub-test-user-sync-{os.getpid()}"
    schedule_vars = {
        "daskhub_user_sync_schedule_backend": "cron",
        "daskhub_user_sync_schedule_cron_file": str(cron_file),
        "daskhub_user_sync_schedule_cron_user": "root",
        "daskhub_user_sync_schedule_interval_minutes": 1,
        "daskhub_user_sync_schedule_dir": str(work / "schedule"),
        "daskhub_user_sync_schedule_environment": {"ANSIBLE_ROLES_PATH": f"{work / 'roles'}:{REPO_ROOT / 'roles'}"},
    }
    env = _env(work, callback="ansible.builtin.default")

    def schedule(state):
        return run_playbook(
            *("playbooks/user-sync-schedule.yml", "-i", str(inventory)),
            *("-e", json.dumps({**schedule_vars, "daskhub_user_sync_schedule_state": state})),
            env=env,
            timeout=120,
        )

    status_file = work / "schedule" / "user-sync.status"
    try:
        proc = schedule("present")
        assert proc.returncode == 0, proc.stdout
        entries = [ln for ln in cron_file.read_text().splitlines() if ln and not ln.startswith("#")]
        assert len(entries) == 1
        fields = entries[0].split(None, 6)
        assert fields[:6] == ["*/1", "*", "*", "*", "*", "root"]
        command = fields[6]
        assert recap(schedule("present").stdout)["changed"] == 0

        # The cron daemon fires the entry at the next minute, in cron's bare environment.
        with cron_daemon():
            deadline = time.monotonic() + 200
            while " ok log=" not in (status_file.read_text() if status_file.exists() else ""):
                assert time.monotonic() < deadline, "cron did not run the user sync within 200 s"
                time.sleep(2)
        log = (work / "schedule" / "user-sync.log").read_text()
        assert log.rstrip().splitlines()[-1].endswith("user-sync ok")
        assert "scheduled-user" in hub.users()
        assert hub.token not in log

        # A failing run stays visible in the status file and the log.
        group_vars["daskhub_secrets"]["user_sync_api_token"] = "revoked"
        (inventory / "group_vars" / "daskhub.yml").write_text(yaml.safe_dump(group_vars))
        run = subprocess.run(["/bin/sh", "-c", command], env={"PATH": "/usr/bin:/bin"}, timeout=300, check=False)
        assert run.returncode != 0
        assert "FAILED (exit 2)" in status_file.read_text()
        assert "the hub rejected the API token" in (work / "schedule" / "user-sync.log").read_text()

        proc = schedule("absent")
        assert proc.returncode == 0, proc.stdout
        # The cron module deletes a cron_file that has no entry left.
        assert not cron_file.exists() or not [
            ln for ln in cron_file.read_text().splitlines() if ln and not ln.startswith("#")
        ]
        assert not Path(shlex.split(command)[0]).exists()
    finally:
        cron_file.unlink(missing_ok=True)
