"""A site that syncs groups gives the user-sync service the group scopes, on both targets."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from support.site_models import build_model
from support.versions import GATEWAY_VERSION


def user_sync_scopes(**overrides):
    roles = hub_model.hub_roles(build_model(**overrides), GATEWAY_VERSION)
    (role,) = [role for role in roles if hub_model.USER_SYNC_SERVICE in role.get("services", [])]
    return role["scopes"]


def test_groups_synced_means_group_scopes():
    scopes = user_sync_scopes(daskhub_user_sync_groups={"physics": ["alice"]})
    assert {"list:groups", "admin:groups"} <= set(scopes)


def test_no_groups_no_group_scopes():
    assert not [scope for scope in user_sync_scopes() if "groups" in scope]
