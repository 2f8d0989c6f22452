"""The run of the jupyterhub_users module around the plan (plugins/module_utils/hub/user_sync.py).

What needs no hub: the inputs, the echo of the arguments, the messages of a
failed run, and that bad input fails before the hub is asked. Against a real
hub: tests/integration/test_user_sync_hub.py.
"""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import user_sync
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import HUB_REQUEST_SPEC
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.users import PlanError

TOKEN = "0123456789abcdef" * 4


def params(**given):
    """The module's parameters with its defaults; the hub is a port nothing listens on."""
    base = {
        "hub_url": "http://127.0.0.1:9",
        "hub_token": TOKEN,
        "validate_certs": True,
        "ca_path": None,
        "users": [],
        "admins": None,
        "exclusive": False,
        "protected_users": [],
        "max_deletions": None,
        "force_deletions": False,
        "allow_empty": False,
        "groups": None,
        "lowercase": True,
        "username_pattern": None,
        **{name: option["default"] for name, option in HUB_REQUEST_SPEC.items()},
    }
    return {**base, **given}


def test_every_invalid_name_of_every_list_is_in_one_error():
    with pytest.raises(PlanError) as err:
        user_sync.normalized_inputs(
            params(users=["ok", "a/b"], admins=["c d"], protected_users=[""], groups={"g": ["x\ty"], "h": "nope"})
        )
    message = str(err.value)
    for part in ("in users", "in admins", "in protected_users", "in groups.g", "groups.h must be a list"):
        assert part in message


def test_inputs_are_normalised_and_unset_admins_stay_unmanaged():
    users, admins, protected, groups = user_sync.normalized_inputs(
        params(users=[" Alice ", "alice", "Bob"], protected_users=["Root"], groups={"Physics": ["BOB"]})
    )
    assert (users, admins, protected, groups) == (["alice", "bob"], None, ["root"], {"Physics": ["bob"]})


def test_the_echo_counts_the_names_and_never_holds_the_token():
    echo = user_sync.invocation(params(users=["a", "b", "c"], admins=["a"], groups={"g": ["a"]}, token=TOKEN))
    args = echo["module_args"]
    assert (args["users"], args["admins"], args["groups"]) == ("<3 names>", "<1 names>", ["g"])
    assert TOKEN not in repr(echo)
    assert user_sync.invocation(params())["module_args"]["admins"] is None


def test_a_failed_run_names_how_many_failed_the_first_and_what_was_done():
    error = user_sync.first_error(
        {"zoe": HubAPIError("no", status=500), "bob": HubAPIError("forbidden", status=403)}, "deletion"
    )
    assert str(error) == "2 deletion(s) failed, first for 'bob': forbidden"
    assert error.status == 403
    done = {"added": ["a", "b"], "removed": [], "admins_granted": ["a"], "admins_revoked": []}
    assert user_sync.done_summary(done) == "2 added, 0 removed, 1 admins granted, 0 admins revoked"


def test_bad_input_fails_before_the_hub_is_asked():
    # Nothing listens on the hub's port: a request would fail with "cannot reach".
    result, failure = user_sync.sync_users(params(users=["ok", "a/b"], exclusive=True))
    assert "1 invalid username(s) in users" in failure
    assert "cannot reach" not in failure
    assert result["changed"] is False
    assert (result["added"], result["removed"], result["hub_version"]) == ([], [], "")
    assert TOKEN not in repr(result)
