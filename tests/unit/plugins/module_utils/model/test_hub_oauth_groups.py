"""The identity provider's groups in the hub's config, for the oauthenticator each hub runs (model/hub.py)."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from support.site_models import OAUTH_GROUPS as GROUPS
from support.site_models import OAUTH_SITE as OAUTH
from support.site_models import build_model
from support.versions import GATEWAY_VERSION


@pytest.mark.parametrize(("chart", "major"), [(None, 17), ("4.4.0", 17), ("3.2.1", 16)])
def test_each_hub_has_its_oauthenticator(chart, major):
    assert hub_model.oauthenticator_major(chart) == major


def test_oauthenticator_17_manages_the_groups_from_the_claim():
    model = build_model(**OAUTH, **dict(GROUPS, daskhub_oauth_groups_claim="wlcg.groups"))
    oauth = hub_model.hub_config(model, GATEWAY_VERSION, 17)["GenericOAuthenticator"]
    # 17.0 refuses allowed_groups and admin_groups without manage_groups; the
    # userinfo is in the auth state under oauth_user.
    assert oauth["manage_groups"] is True
    assert oauth["auth_state_groups_key"] == "oauth_user.wlcg.groups"
    assert (oauth["allowed_groups"], oauth["admin_groups"]) == (["physics"], ["hub-admins"])
    assert "claim_groups_key" not in oauth
    assert hub_model.idp_manages_groups(model, 17)


def test_oauthenticator_16_decides_login_and_admin_from_the_claim():
    model = build_model(**OAUTH, **GROUPS)
    oauth = hub_model.hub_config(model, GATEWAY_VERSION, 16)["GenericOAuthenticator"]
    assert oauth["claim_groups_key"] == "groups"
    assert (oauth["allowed_groups"], oauth["admin_groups"]) == (["physics"], ["hub-admins"])
    assert "manage_groups" not in oauth and "auth_state_groups_key" not in oauth
    assert not hub_model.idp_manages_groups(model, 16)


def test_without_a_claim_no_group_setting_is_rendered():
    oauth = hub_model.hub_config(build_model(**OAUTH), GATEWAY_VERSION)["GenericOAuthenticator"]
    assert not {"manage_groups", "allowed_groups", "admin_groups", "claim_groups_key"} & set(oauth)
    assert not hub_model.idp_manages_groups(build_model(**OAUTH))
