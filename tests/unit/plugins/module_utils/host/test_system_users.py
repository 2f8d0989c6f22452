"""module_utils/host/system_users.py, the work of modules/local_system_users.py: what it decides before any command.

Creating and removing real accounts is tests/integration/test_local_accounts_purge.py
and the stack's tests (they hold the host accounts' lock); here nothing may
run a command, so any command fails the test.
"""

from __future__ import annotations

import grp

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import system_users
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleFailure

GROUP = "daskhub-zz-unit-absent"  # no such group on this host


def never(argv):
    raise AssertionError(f"ran {argv}")


def warnings():
    said = []
    return said, said.append


def _params(**changes):
    return {"users": [], "group": GROUP, "shell": "/bin/bash", "state": "present", "remove_home": False, **changes}


def test_names_no_account_may_have_are_refused_before_anything_runs():
    with pytest.raises(ModuleFailure, match=r"^not usable as system account names: -rf, \.\., root$"):
        system_users.ensure_system_users(never, _params(users=["alice", "-rf", "..", "root"]), False, print)


def test_check_mode_lists_the_accounts_to_create_and_leaves_existing_ones_alone():
    said, warn = warnings()
    result = system_users.ensure_system_users(
        never, _params(users=["daskhub-zz-nobody", "nobody", "daskhub-zz-nobody"]), True, warn
    )
    assert result == {"changed": True, "created": ["daskhub-zz-nobody"], "removed": [], "accounts": []}
    assert said == []


def test_absent_without_the_group_has_nothing_to_remove():
    result = system_users.ensure_system_users(never, _params(users=["nobody"], state="absent"), False, print)
    assert result == {"changed": False, "created": [], "removed": [], "accounts": []}


# -- in_place: what the preflight asks so that a no-op converge skips the module ----------


def test_without_the_group_nothing_is_in_place():
    assert system_users.in_place([], GROUP) is False
    assert system_users.in_place(["nobody"], GROUP) is False
    assert system_users.plan_present(["nobody", "daskhub-zz-nobody"], GROUP) == {
        "group_exists": False,
        "to_create": ["daskhub-zz-nobody"],
        "to_remove": [],
    }


def test_a_group_whose_members_are_the_users_is_in_place_and_a_missing_account_is_not():
    members = sorted(grp.getgrnam("root").gr_mem)
    assert system_users.in_place(members, "root") is True
    assert system_users.in_place([*members, "daskhub-zz-nobody"], "root") is False


def test_a_member_no_longer_a_user_is_to_remove():
    group = next((entry for entry in grp.getgrall() if entry.gr_mem), None)
    if group is None:
        pytest.skip("no group on this host has a member (/etc/group) to leave out")
    kept = sorted(group.gr_mem)[1:]
    assert system_users.in_place(kept, group.gr_name) is False
    assert system_users.plan_present(kept, group.gr_name)["to_remove"] == sorted(group.gr_mem)[:1]
