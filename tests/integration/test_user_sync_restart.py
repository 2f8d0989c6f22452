"""User sync while the hub restarts (issue 11, item 5): the report matches the hub.

A real JupyterHub behind the real configurable-http-proxy it starts. While
the sync deletes 600 users the hub is restarted (SIGTERM, then started
again on the same ports, with a new proxy that answers 404 until the hub
has re-added its route). The users the sync reports removed must be exactly
the ones the hub no longer has, and any it could not remove must show as a
failure, never as "already gone".
"""

from __future__ import annotations

import time

import pytest
import yaml
from support import hub_api, hubs
from support.hubs import HUB_ADMIN
from support.playbooks import start_playbook, task_result

SYNC_TASK = "Sync the users"
# Enough that the restart lands mid-deletion (after RESTART_AFTER users are
# gone) with hundreds still to delete, and few enough to keep the suite fast.
USERS = [f"user{index:04d}" for index in range(600)]
RESTART_AFTER = 150
# The newest JupyterHub the fixtures know: what the local target and the composed chart run.
VERSION = hubs.HUB_VERSIONS[-1]


@pytest.fixture
def hub():
    started = hubs.Hub(VERSION).start()
    yield started
    started.stop()


def restart(hub):
    """SIGTERM (the hub stops its proxy), then start again where it was."""
    hub.proc.terminate()
    hub.proc.wait(30)
    hub._log.close()
    hub.start(keep_ports=True)


def start_sync(tmp_path, hub):
    task = {
        "name": SYNC_TASK,
        "daskhub.deploy.jupyterhub_users": {
            "hub_url": hub.api_url,
            "hub_token": hub.token,
            "users": [],
            "exclusive": True,
            "allow_empty": True,
            "protected_users": [HUB_ADMIN],
            "parallelism": 8,
        },
        "no_log": False,
    }
    book = tmp_path / "sync.yml"
    book.write_text(yaml.safe_dump([{"name": "Sync", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    return start_playbook(str(book), extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})


def sync_result(proc):
    out, _ = proc.communicate(timeout=600)
    try:
        return task_result(out, SYNC_TASK)
    except ValueError:
        pytest.fail(f"no JSON from ansible-playbook (rc={proc.returncode}):\n{out[-3000:]}")


def hub_user_count(hub):
    try:
        page = hub.api("GET", "/users?limit=1", accept="application/jupyterhub-pagination+json")
    except hub_api.HubAPIError:
        return None
    return page["_pagination"]["total"]


def test_the_report_matches_the_hub_after_a_restart_during_a_large_deletion(tmp_path, hub):
    # In small batches: a loaded machine's hub takes long over a big one.
    for start in range(0, len(USERS), 250):
        hub.add_users(USERS[start : start + 250])
    proc = start_sync(tmp_path, hub)
    # Restart once the deletions are well under way.
    deadline = time.monotonic() + 300
    while (hub_user_count(hub) or len(USERS)) > len(USERS) - RESTART_AFTER:
        assert proc.poll() is None, "the sync finished before the restart"
        assert time.monotonic() < deadline, "the sync deleted too little in 300 s"
        time.sleep(0.2)
    restart(hub)
    result = sync_result(proc)

    on_hub = set(hub.users())
    reported = set(result["removed"])
    gone = set(USERS) - on_hub
    assert reported == gone, (
        f"reported {len(reported)} removed, the hub lost {len(gone)}: "
        f"{len(reported - gone)} reported but still there, {len(gone - reported)} gone but not reported"
    )
    assert result["counts"]["removed"] == len(gone)
    if on_hub - {HUB_ADMIN}:
        assert result.get("failed"), "users are left on the hub but the sync did not fail"
        assert f"{len(on_hub - {HUB_ADMIN})} deletion(s) failed" in result["msg"]
