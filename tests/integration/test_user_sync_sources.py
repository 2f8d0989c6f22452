"""User sync's sources and groups: files, an HTTP endpoint and a real slapd, into a real JupyterHub.

One hub version is enough: the sources have no hub differences
(support/user_sync.py has the helpers).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.user_sources import SourceError, read_source
from support import hubs, user_sync
from support.hubs import HUB_ADMIN
from support.playbooks import task_result
from support.stacks import free_port
from support.user_sync import SOURCE_TASK, newest_hub_only, run_sync

pytestmark = pytest.mark.hub
# The fixtures: one running hub per JupyterHub version (hub, fresh_hub), a test's stub roles (work).
hub_fixture, fresh_hub, work_fixture = hubs.hub_fixture, hubs.fresh_hub, user_sync.work_fixture


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
    site = {
        "service": "user-sync-groups",
        "daskhub_users": ["alice"],
        "daskhub_user_sync_sources": sources,
        "daskhub_user_sync_groups": {"physics": members},
    }
    proc, _res, out = run_sync(work, hub, **site)
    assert proc.returncode == 0, proc.stdout
    src = task_result(out, SOURCE_TASK)
    # The inventory's list first, then each source in order.
    assert [s["users"] for s in src["sources"]] == [1, 2, 1, 2, 2]
    assert hub.users() == expected
    assert hub.groups() == {"physics": members}
    assert slapd["bind_password"] not in proc.stdout
    _, again, _ = run_sync(work, hub, **site)
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
