"""User sync against real JupyterHub servers (4.0.2 and 5.x), through ansible-playbook: the main path and the errors.

The role runs with stub daskhub_model/daskhub_secrets roles in front of the
real ones (support/user_sync.py): the hub URL and the user-sync token come
from a vars file, the way an admin passes them with -e @file, so these tests
do not depend on the site model or the secrets store (tested elsewhere).
The input checks and the lock are in test_user_sync_guards.py, the sources
and groups in test_user_sync_sources.py, the schedule in
test_user_sync_schedule.py.
"""

from __future__ import annotations

import pytest
import yaml
from support import hubs, user_sync
from support.hubs import HUB_ADMIN
from support.playbooks import recap, run_playbook, task_result
from support.stacks import free_port
from support.user_sync import playbook_env, run_module, run_sync, vars_file

pytestmark = pytest.mark.hub
# The fixtures: one running hub per JupyterHub version (hub, fresh_hub), a test's stub roles (work).
hub_fixture, fresh_hub, work_fixture = hubs.hub_fixture, hubs.fresh_hub, user_sync.work_fixture


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

    # Second run, at -vvv: nothing to change, and the token never printed. As
    # a site runs it (removed users' clusters reported: the sync is planned
    # first), though this hub has no gateway: a plan that removes nobody asks none.
    vars_path = vars_file(
        work,
        hub,
        daskhub_user_sync_sources=[extra_admins],
        daskhub_user_sync_removed_user_clusters="report",
        **desired,
    )
    verbose = run_playbook(
        *("playbooks/user-sync.yml", "-e", f"@{vars_path}", "-vvv", "--diff"),
        env=playbook_env(work, callback="ansible.builtin.default"),
    )
    assert verbose.returncode == 0, verbose.stdout[-3000:]
    assert recap(verbose.stdout)["changed"] == 0, verbose.stdout[-2000:]
    assert hub.token not in verbose.stdout + verbose.stderr
    # The plan found nothing to change: the hub is asked once, the sync skipped.
    sync_task = verbose.stdout.split("TASK [daskhub_user_sync : Sync the hub's users and admins]", 1)[1]
    sync_task = sync_task.split("\nTASK [", 1)[0]
    assert "skipping: [localhost]" in sync_task and "ok: [localhost]" not in sync_task, sync_task


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


def test_a_play_sets_the_hub_connection_once_and_the_old_spellings_still_work(work, fresh_hub):
    """module_defaults for the action group daskhub.deploy.hub; api_url and token as site playbooks spelled them."""
    hub = fresh_hub
    hub.add_users(["alice"])
    grouped = {
        "name": "Grouped",
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/daskhub.deploy.hub": {"hub_url": hub.url, "hub_token": hub.token}},
        "tasks": [{"name": "List", "daskhub.deploy.jupyterhub_user_list": {}}],
    }
    old = {
        "name": "Old spellings",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Plan",
                "daskhub.deploy.jupyterhub_users": {"api_url": hub.api_url, "token": hub.token, "users": ["bob"]},
                "check_mode": True,
            }
        ],
    }
    book = work / "connection.yml"
    book.write_text(yaml.safe_dump([grouped, old]))
    proc = run_playbook(str(book), env=playbook_env(work))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert task_result(proc.stdout, "List")["users"] == sorted(["alice", HUB_ADMIN])
    assert task_result(proc.stdout, "Plan")["added"] == ["bob"]
    assert hub.token not in proc.stdout + proc.stderr


# -- errors a human can act on ----------------------------------------------


def test_bad_token_says_401(fresh_hub):
    rc, res = run_module(fresh_hub, "not-the-token-" + "0" * 20, users=["alice"])
    assert rc != 0
    assert "the hub rejected the API token" in res["msg"]
    assert "wrong, expired or revoked" in res["msg"]


def test_missing_scope_and_missing_admin_role(fresh_hub):
    hub = fresh_hub
    rc, res = run_module(hub, hub.tokens["user-sync-readonly"], users=["alice"])
    assert rc != 0
    assert "admin:users" in res["msg"]
    assert "alice" not in hub.users()

    # Admin changes need the admin role; the check comes before any change,
    # so alice is not added half-way (JupyterHub 4.0.2 itself would let a
    # non-admin with admin:users grant admin, 5.x answers 403).
    rc, res = run_module(hub, hub.tokens["user-sync-noadmin"], users=["alice"], admins=["carol", HUB_ADMIN])
    assert rc != 0
    assert "must be in the JupyterHub 'admin' role" in res["msg"]
    assert set(hub.users()) == {HUB_ADMIN}

    # Without admins, the same token manages users fine.
    rc, res = run_module(hub, hub.tokens["user-sync-noadmin"], users=["alice"])
    assert rc == 0, res
    assert res["added"] == ["alice"]


def test_hub_down():
    url = f"http://127.0.0.1:{free_port()}/hub/api"
    rc, res = run_module(url, "x" * 64, users=["alice"], retries=1, timeout=2)
    assert rc != 0
    assert f"cannot reach the JupyterHub API at {url}" in res["msg"]
    assert "Is the hub running" in res["msg"]
