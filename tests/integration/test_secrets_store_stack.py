"""The secrets store on a deployed local target (issue 11, item 1).

- A rotation through site.yml (``-e daskhub_secrets_rotate``), not only
  through rotate-secrets.yml, revokes the replaced service tokens: an
  operator who restores the old store from a backup finds its tokens dead.
- An empty or truncated store stops the play, names the path, leaves the
  file and the running site alone, and the restored store deploys with no
  change.

The session's shared stack (``local_stack``, tests/support/stacks.py), put back after each test.
"""

from __future__ import annotations

import json

import pytest
from support.playbooks import recap
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]
SERVICE_TOKENS = {"dask_gateway_api_token": "dask-gateway", "user_sync_api_token": "user-sync"}


@pytest.fixture(scope="module")
def stack(local_stack):
    return local_stack


def store_path(stack):
    return stack.state_dir / "secrets.yml"


def hub_pid(stack):
    pids = [pid for pid, cmdline in stack.processes() if "jupyterhub" in cmdline and "-f" in cmdline.split()]
    assert pids, "no running hub under the stack's prefix"
    return sorted(pids)


def test_a_rotation_through_site_yml_revokes_the_old_tokens(stack):
    old_store = store_path(stack).read_bytes()
    before = stack.secrets()

    stack.playbook("site.yml", "-e", json.dumps({"daskhub_secrets_rotate": sorted(SERVICE_TOKENS)}))
    after = stack.secrets()
    new_store = store_path(stack).read_bytes()
    # The operator restores the store from the backup taken before the rotation.
    store_path(stack).write_bytes(old_store)
    try:
        for name, service in SERVICE_TOKENS.items():
            assert after[name] != before[name]
            status, _ = stack.api("GET", "/user", token=before[name])
            assert status in (401, 403), f"the old {name} from the restored store is still accepted (HTTP {status})"
            status, model = stack.api("GET", "/user", token=after[name])
            assert (status, model["kind"], model["name"]) == (200, "service", service)
    finally:
        store_path(stack).write_bytes(new_store)


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_damaged_store_stops_the_play_and_leaves_the_site_alone(stack, damage):
    path = store_path(stack)
    good = path.read_bytes()
    values = stack.secrets()
    pids = hub_pid(stack)
    damaged = b"" if damage == "empty" else good[: good.rindex(b"\n", 0, len(good) - 1) - 20]
    path.write_bytes(damaged)
    try:
        proc = stack.playbook("site.yml", check=False)
        assert proc.returncode != 0, "the play went on with a damaged store"
        assert f"secrets store {path}" in proc.stdout
        assert "Restore it from your backup" in proc.stdout
        assert path.read_bytes() == damaged, "the damaged store was rewritten"
        assert hub_pid(stack) == pids, "the hub was restarted"
        status, _ = stack.api("GET", "/user", token=values["user_sync_api_token"])
        assert status == 200
    finally:
        path.write_bytes(good)
    proc = stack.playbook("site.yml")
    assert recap(proc.stdout)["changed"] == 0
