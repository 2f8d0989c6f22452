"""User sync through ansible-playbook against a test hub (support.hubs), for tests/integration/test_user_sync_*.py.

The role runs with stub daskhub_model/daskhub_secrets roles in front of the
real ones (the ``work`` fixture): the hub URL and the user-sync token come
from a vars file, the way an admin passes them with -e @file, so these tests
do not depend on the site model or the secrets store (tested elsewhere).
"""

from __future__ import annotations

import json
import shutil

import pytest

from support import hubs
from support.hubs import HUB_ADMIN, REPO_ROOT
from support.playbooks import ansible_env, module_work, run_playbook, task_result

# For what does not depend on the hub version: the newest hub only, rather than a skip on the others.
newest_hub_only = pytest.mark.parametrize(
    "hub", [hubs.HUB_VERSIONS[-1]], indirect=True, ids=lambda v: f"jupyterhub-{v}"
)

SYNC_TASK = "Sync the hub's users and admins"
PLAN_TASK = "Plan the sync"
SOURCE_TASK = "Read the desired users from every source"


@pytest.fixture(name="work")
def work_fixture(tmp_path):
    """Stub dependency roles and a state dir for one test."""
    for role in ("daskhub_model", "daskhub_secrets"):
        tasks = tmp_path / "roles" / role / "tasks"
        tasks.mkdir(parents=True)
        (tasks / "main.yml").write_text("---\n- name: Stub\n  ansible.builtin.meta: noop\n")
    # The model's defaults are real (daskhub_user_sync_manage_admins and the
    # like); only its validation and the secrets store are stubbed.
    defaults = tmp_path / "roles" / "daskhub_model" / "defaults"
    defaults.mkdir()
    shutil.copy(REPO_ROOT / "roles" / "daskhub_model" / "defaults" / "main.yml", defaults / "main.yml")
    return tmp_path


def playbook_env(work, callback="ansible.builtin.json"):
    return ansible_env(ANSIBLE_ROLES_PATH=f"{work / 'roles'}:{REPO_ROOT / 'roles'}", ANSIBLE_STDOUT_CALLBACK=callback)


def vars_file(work, hub, service="user-sync", name="vars.json", **extra):
    data = {
        "daskhub_hub_api_url": hub.api_url if hub else extra.pop("api_url"),
        "daskhub_secrets": {"user_sync_api_token": hub.tokens[service] if hub else extra.pop("token")},
        "daskhub_state_dir": str(work / "state"),
        "daskhub_users": [],
        "daskhub_admin_users": [HUB_ADMIN],
        # These hubs have no Dask Gateway to ask for the removed users' clusters.
        "daskhub_user_sync_removed_user_clusters": "ignore",
    }
    data.update(extra)
    path = work / name
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


def run_sync(work, hub, *args, service="user-sync", **role_vars):
    """Run playbooks/user-sync.yml; returns (process, sync result, full JSON)."""
    vars_path = vars_file(work, hub, service=service, **role_vars)
    proc = run_playbook("playbooks/user-sync.yml", "-e", f"@{vars_path}", *args, env=playbook_env(work))
    try:
        output = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON from ansible-playbook (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc, sync_result(output), output


def sync_result(output):
    """What the sync did, as the role reads it (daskhub_user_sync_result).

    The sync's result, or the plan's when the plan changed nothing and the sync was skipped.
    """
    result = task_result(output, SYNC_TASK)
    if result is not None and result.get("skipped"):
        return task_result(output, PLAN_TASK)
    return result


def run_module(hub_or_url, token, **params):
    """The module jupyterhub_users alone, as a task on the controller runs it (support.playbooks.module_work)."""
    api_url = hub_or_url if isinstance(hub_or_url, str) else hub_or_url.api_url
    return module_work("jupyterhub_users", {"hub_url": api_url, "hub_token": token, **params})
