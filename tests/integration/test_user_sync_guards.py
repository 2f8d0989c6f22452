"""User sync's guards, through ansible-playbook against a real JupyterHub: input checks and the per-site lock.

Not hub-facing: the newest hub only (support/user_sync.py has the helpers).
"""

from __future__ import annotations

import json
import time

import pytest
import yaml
from support import hubs, user_sync
from support.hubs import HUB_ADMIN
from support.playbooks import start_playbook, task_result
from support.user_sync import SOURCE_TASK, newest_hub_only, playbook_env, run_sync, sync_result, vars_file

pytestmark = pytest.mark.hub
# The fixtures: one running hub per JupyterHub version (hub, fresh_hub), a test's stub roles (work).
hub_fixture, fresh_hub, work_fixture = hubs.hub_fixture, hubs.fresh_hub, user_sync.work_fixture


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
        vars_path = vars_file(work, hub, name=f"vars{n}.json", **desired)
        procs.append(
            start_playbook("playbooks/user-sync.yml", "-e", f"@{vars_path}", env=playbook_env(work))
        )
    outputs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    results = [sync_result(o) for o in outputs]
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
    held = start_playbook(str(holder), env=playbook_env(work))
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
