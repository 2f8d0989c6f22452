"""No hub user's code runs as root or a system account, even for a user added after the deploy (issue 19, item 1).

The model and the preflight refuse such names before a deploy
(test_prepare_model_input.py, test_local_stack.py). A hub user can still
appear later: an admin adds one on the hub's admin page, user sync adds one
from an LDAP group. Here ``daemon`` (uid 1 on Debian) is added that way to
the shared stack, logs in through the hub's form with the site's password,
and asks for a Dask cluster with a token from /hub/token, as the deploy
summary tells users to: the gateway refuses to launch it, where it launches.
"""

from __future__ import annotations

import pwd
import time
import urllib.error
from pathlib import Path

import pytest
from support.browser import Browser
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]

SYSTEM_ACCOUNT = "daemon"


def _processes_of(uid: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        if str(uid) in uids and ("dask" in cmdline or "jupyterhub-singleuser" in cmdline):
            found.append(cmdline.strip())
    return found


@pytest.fixture
def system_account_user(local_stack):
    """``daemon`` as a hub user, added the way an admin or user sync adds one; removed afterwards."""
    status, _ = local_stack.api("POST", f"/users/{SYSTEM_ACCOUNT}")
    assert status == 201, f"could not add the hub user {SYSTEM_ACCOUNT}: HTTP {status}"
    try:
        yield SYSTEM_ACCOUNT
    finally:
        local_stack.api("DELETE", f"/users/{SYSTEM_ACCOUNT}/server")
        local_stack.api("DELETE", f"/users/{SYSTEM_ACCOUNT}")


def test_a_cluster_is_never_launched_as_a_system_account(local_stack, system_account_user):
    uid = pwd.getpwnam(system_account_user).pw_uid
    assert 0 < uid < 1000, f"{system_account_user} is not a system account here (uid {uid})"
    log = local_stack.prefix / "log/dask-gateway.log"
    before = log.stat().st_size
    out = local_stack.gateway(system_account_user, "try-new")
    assert out.split()[0] == "refused", out
    with log.open(errors="replace") as handle:
        handle.seek(before)
        logged = handle.read()
    assert f"refusing to run a Dask cluster of '{system_account_user}' as uid {uid}: a system account" in logged
    assert _processes_of(uid) == []


def test_a_login_never_starts_a_server_as_a_system_account(local_stack, system_account_user):
    uid = pwd.getpwnam(system_account_user).pw_uid
    log = local_stack.prefix / "log/jupyterhub.log"
    before = log.stat().st_size
    browser = Browser(local_stack.hub_url)
    try:
        # Without next, the hub sends the user on to /hub/spawn, which starts her server.
        browser.login(system_account_user, local_stack.secrets()["dummy_password"])
    except urllib.error.HTTPError as error:
        assert error.code >= 500, error
    refusal = f"refusing to start the server of '{system_account_user}' as uid {uid}: a system account"
    deadline = time.monotonic() + 60
    while refusal not in log.read_text(errors="replace")[before:] and time.monotonic() < deadline:
        time.sleep(1)
    assert refusal in log.read_text(errors="replace")[before:]
    status, user = local_stack.api("GET", f"/users/{system_account_user}")
    assert status == 200
    assert not (user.get("servers") or {}).get(""), user
    assert _processes_of(uid) == []
