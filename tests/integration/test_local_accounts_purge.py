"""daskhub.deploy.local_system_users state=absent, as uninstall's purge runs it, on real accounts.

Test-only accounts in a group of their own, so the session's stacks (whose
users are members of daskhub-users) are never touched. Run under
``flock /tmp/daskhub-accounts.lock`` like every test that makes accounts.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess

import pytest
from support.playbooks import module_work

TAG = os.getpid() % 100000
GROUP = f"dhtest-purge-{TAG}"
USERS = [f"dhtp{TAG}a", f"dhtp{TAG}b"]
# An account this project did not make (not in GROUP): named, never removed.
STRANGER = "nobody"


@pytest.fixture
def accounts():
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("needs root and useradd")
    try:
        yield
    finally:
        for user in USERS:
            subprocess.run(["userdel", "--remove", user], capture_output=True, check=False)
        subprocess.run(["groupdel", GROUP], capture_output=True, check=False)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def test_purge_removes_the_sites_accounts_and_homes_and_nothing_else(accounts):
    rc, result = module_work("local_system_users", {"users": USERS, "group": GROUP})
    assert rc == 0 and sorted(result["created"]) == USERS, result
    homes = {user: pwd.getpwnam(user).pw_dir for user in USERS}
    assert all(os.path.isdir(home) for home in homes.values())

    args = {"users": [*USERS, STRANGER], "group": GROUP, "state": "absent", "remove_home": True}
    rc, result = module_work("local_system_users", args, check_mode=True)
    assert rc == 0 and result["changed"], result
    assert result["accounts"] == [{"name": user, "home": homes[user]} for user in USERS], "what uninstall reports"
    assert all(map(_exists, USERS)), "check mode removed an account"

    rc, result = module_work("local_system_users", args)
    assert rc == 0 and result["removed"] == USERS, result
    assert not any(map(_exists, USERS))
    assert not any(os.path.exists(home) for home in homes.values()), "a home was left"
    with pytest.raises(KeyError):
        grp.getgrnam(GROUP)
    assert _exists(STRANGER), "an account not in the group was removed"

    rc, result = module_work("local_system_users", args)
    assert rc == 0 and not result["changed"] and result["accounts"] == [], result
