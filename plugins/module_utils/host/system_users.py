# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The host accounts of the local target's hub users: the group's members made equal to the hub users.

The work of modules/local_system_users.py (its documentation says what is
created, removed and never touched); ``ensure_system_users`` is the one
call. Which existing accounts may stand behind hub users at all is
host/accounts.py.
"""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable

from ansible_collections.daskhub.deploy.plugins.module_utils.host.module_io import Run
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleFailure
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.names import account_problem

# The group that marks the accounts this project made for hub users: only its
# members are ever removed.
HUB_USERS_GROUP = "daskhub-users"


def _members(group: str) -> tuple[set[str], bool]:
    """The group's members and whether the group exists."""
    try:
        return set(grp.getgrnam(group).gr_mem), True
    except KeyError:
        return set(), False


def plan_present(users, group: str) -> dict:
    """What making ``group``'s accounts equal ``users`` takes: {group_exists, to_create, to_remove}."""
    members, group_exists = _members(group)
    existing = {entry.pw_name for entry in pwd.getpwall()}
    return {
        "group_exists": group_exists,
        "to_create": [name for name in sorted(set(users)) if name not in existing],
        "to_remove": sorted(members - set(users)),
    }


def in_place(users, group: str) -> bool:
    """Whether ``group``'s accounts equal ``users``: the preflight asks, and a no-op converge skips the module."""
    plan = plan_present(users, group)
    return plan["group_exists"] and not plan["to_create"] and not plan["to_remove"]


def account_in_place(name: str, home: str, shell: str) -> bool:
    """Whether the account ``name`` exists with ``home`` and ``shell``: the preflight asks for the service account."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return False
    return (entry.pw_dir, entry.pw_shell) == (home, shell)


def ensure_system_users(run: Run, params: dict, check_mode: bool, warn: Callable[[str], None]) -> dict:
    """The module's work (``params`` are its options): the result to exit with; raises ModuleFailure."""
    users = sorted(set(params["users"]))
    group = params["group"]
    bad = [name for name in users if account_problem(name)]
    if bad:
        raise ModuleFailure("not usable as system account names: " + ", ".join(bad), {})
    result = {"changed": False, "created": [], "removed": [], "accounts": []}

    def command(*args):
        rc, out, err = run(list(args))
        if rc != 0:
            raise ModuleFailure(f"{' '.join(args)} failed: {(err or out).strip()}", result)

    if params["state"] == "absent":
        members, group_exists = _members(group)
        ours = [name for name in users if name in members]
        result["accounts"] = [{"name": name, "home": pwd.getpwnam(name).pw_dir} for name in ours]
        last = group_exists and members <= set(ours)  # the group goes with its last member
        result["changed"] = bool(ours) or last
        if check_mode or not result["changed"]:
            return result
        for account in result["accounts"]:
            # userdel --remove fails on a home that is already gone.
            remove = params["remove_home"] and os.path.isdir(account["home"])
            command("userdel", *(["--remove"] if remove else []), account["name"])
            result["removed"].append(account["name"])
        if last:
            rc, out, err = run(["groupdel", group])
            if rc != 0:  # e.g. still some account's primary group: harmless, say so
                warn(f"groupdel {group} failed: {(err or out).strip()}")
        return result
    plan = plan_present(users, group)
    to_create, to_remove = plan["to_create"], plan["to_remove"]
    result["created"], result["removed"] = to_create, to_remove
    result["changed"] = bool(to_create or to_remove or not plan["group_exists"])
    if check_mode or not result["changed"]:
        return result

    if not plan["group_exists"]:
        command("groupadd", "--system", group)
    for name in to_create:
        # HOME_MODE: a home only its user can read (Debian's default follows
        # the umask, 0755), so users cannot read each other's files.
        command(
            "useradd",
            "--create-home",
            "--key",
            "HOME_MODE=0700",
            "--shell",
            params["shell"],
            "--groups",
            group,
            name,
        )
    for name in to_remove:
        command("userdel", name)
    return result
