"""Which host accounts may stand behind hub users (module_utils/host/accounts.py), on this host's real accounts."""

from __future__ import annotations

import pwd

from ansible_collections.daskhub.deploy.plugins.module_utils.host import accounts as host_accounts

GROUP = "daskhub-zz-no-such-group"


def test_uid_min_is_read_from_login_defs(tmp_path):
    login_defs = tmp_path / "login.defs"
    login_defs.write_text("# comment\nUID_MIN\t\t 2000\nUID_MAX 60000\n")
    assert host_accounts.uid_min(str(login_defs)) == 2000
    login_defs.write_text("UID_MAX 60000\n")
    assert host_accounts.uid_min(str(login_defs)) == host_accounts.DEFAULT_UID_MIN
    assert host_accounts.uid_min(str(tmp_path / "missing")) == host_accounts.DEFAULT_UID_MIN


def test_root_system_and_foreign_accounts_are_named_with_their_variable():
    daemon = pwd.getpwnam("daemon").pw_uid
    problems = host_accounts.account_problems(
        {"daskhub_users": ["root", "daemon", "nobody", "daskhub-zz-new-user"], "daskhub_verify_user": ["nobody"]},
        GROUP,
        first_uid=1000,
    )
    assert problems == [
        "daskhub_users: 'root' is uid 0 on this host: no hub user may run as root",
        f"daskhub_users: 'daemon' is a system account of this host (uid {daemon}, below UID_MIN 1000), a service's",
        "daskhub_users: 'nobody' is an existing account of this host that this project did not make "
        f"(not in group {GROUP}); logging in as that hub user would run code as it. Rename the hub user, "
        "or list it in daskhub_local_adopted_accounts to map it onto that account on purpose",
        "daskhub_verify_user: 'nobody' is an existing account of this host that this project did not make "
        f"(not in group {GROUP}); logging in as that hub user would run code as it. Rename the hub user, "
        "or list it in daskhub_local_adopted_accounts to map it onto that account on purpose",
    ]


def test_adoption_admits_an_ordinary_account_but_never_root_or_a_system_one():
    problems = host_accounts.account_problems(
        {"daskhub_users": ["nobody", "daemon"]}, GROUP, adopted=["nobody", "daemon", "root", "daskhub-zz-none"]
    )
    assert not any("'nobody'" in line for line in problems), problems
    assert [line.split(":", 1)[0] for line in problems] == [
        "daskhub_local_adopted_accounts",  # daemon
        "daskhub_local_adopted_accounts",  # daskhub-zz-none
        "daskhub_local_adopted_accounts",  # root
        "daskhub_users",  # daemon, adopted or not
    ]
    adopted = "daskhub_local_adopted_accounts"
    assert f"{adopted}: 'root' is uid 0 on this host: no hub user may run as root; it can never be adopted" in problems
    assert f"{adopted}: 'daskhub-zz-none' is no account of this host, so there is nothing to adopt" in problems
