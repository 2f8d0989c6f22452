"""playbooks/rotate-secrets.yml on a deployed local target: new tokens work, old ones are rejected."""

from __future__ import annotations

import pytest
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]
ROTATED = ("dask_gateway_api_token", "user_sync_api_token")


@pytest.fixture(scope="module")
def stack(local_stack):
    """The session's shared stack: these tests leave it working."""
    return local_stack


@pytest.fixture(scope="module")
def rotation(stack):
    before = stack.secrets()
    proc = stack.playbook("playbooks/rotate-secrets.yml", "-e", "rotate=" + ",".join(ROTATED), "-vvv")
    return before, stack.secrets(), proc.stdout


def test_store_has_new_values_for_the_named_secrets_only(rotation):
    before, after, _ = rotation
    for name in ROTATED:
        assert after[name] != before[name]
        assert len(after[name]) == 64
    for name in set(before) - set(ROTATED):
        assert after[name] == before[name], f"{name} changed but was not asked for"


def test_old_tokens_rejected_new_tokens_accepted(stack, rotation):
    before, after, _ = rotation
    for name, service in (("dask_gateway_api_token", "dask-gateway"), ("user_sync_api_token", "user-sync")):
        status, _ = stack.api("GET", "/user", token=before[name])
        assert status in (401, 403), f"old {name} still accepted (HTTP {status})"
        status, model = stack.api("GET", "/user", token=after[name])
        assert status == 200, f"new {name} rejected (HTTP {status})"
        assert (model["kind"], model["name"]) == ("service", service)


def test_the_stack_works_after_rotation(stack, rotation):
    name = stack.start_cluster("alice")
    assert stack.clusters_of("alice") == [name]
    stack.gateway("alice", "stop", name)
    assert stack.clusters_of("alice") == []


def test_no_secret_in_the_vvv_output(rotation):
    before, after, out = rotation
    for name, value in [*before.items(), *after.items()]:
        assert value not in out, f"{name} leaked into the -vvv output"


def test_unknown_name_fails_before_any_change(stack):
    before = stack.secrets()
    proc = stack.playbook("playbooks/rotate-secrets.yml", "-e", "rotate=dask_gateway_api_token,nope", check=False)
    assert proc.returncode != 0
    assert "nope: not a secret of this site" in proc.stdout
    assert stack.secrets() == before


def test_missing_rotate_fails_with_usage(stack):
    proc = stack.playbook("playbooks/rotate-secrets.yml", check=False)
    assert proc.returncode != 0
    assert "name the secrets to rotate: -e rotate=" in proc.stdout
