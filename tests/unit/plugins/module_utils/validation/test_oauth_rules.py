"""The identity provider's settings and the per-group bounds, checked before anything changes (validation/oauth.py)."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation
from support.site_models import OAUTH_GROUPS, OAUTH_SITE, build_model

OAUTH, GROUPS = OAUTH_SITE, OAUTH_GROUPS


def errors_for(inputs=None, **overrides):
    return model_validation.validate(build_model(**overrides), inputs)


def test_a_complete_provider_with_groups_is_valid():
    assert errors_for(**OAUTH, **GROUPS) == []
    assert errors_for(**OAUTH, **GROUPS, daskhub_target="kubernetes") == []


@pytest.mark.parametrize("secret", ["REPLACE-WITH-THE-IAM-CLIENT-SECRET", "changeme", "<client secret>", "TODO"])
def test_a_placeholder_secret_is_refused_without_being_shown(secret):
    errors = errors_for(**dict(OAUTH, daskhub_oauth_client_secret=secret))
    assert len(errors) == 1 and errors[0].startswith("daskhub_oauth_client_secret: still a placeholder")
    assert secret not in errors[0]


@pytest.mark.parametrize(
    ("callback", "expected"),
    [
        ("https://other.example.org/hub/oauth_callback", "is not at the hub's public URL https://hub.example.org"),
        ("http://hub.example.org/hub/oauth_callback", "is not at the hub's public URL"),
        ("https://hub.example.org/oauth_callback", "must end with /hub/oauth_callback"),
    ],
)
def test_the_callback_must_be_the_hubs_own(callback, expected):
    errors = errors_for(**dict(OAUTH, daskhub_oauth_callback_url=callback))
    assert [e for e in errors if e.startswith("daskhub_oauth_callback_url: ") and expected in e], errors


def test_on_kubernetes_the_public_url_may_come_from_the_https_hosts():
    site = dict(OAUTH, daskhub_target="kubernetes", daskhub_hub_public_url="")
    https = {"daskhub_https_enabled": True, "daskhub_https_letsencrypt_contact_email": "a@example.org"}
    assert errors_for(**site, **https, daskhub_https_hosts=["hub.example.org"]) == []
    errors = errors_for(**site, **https, daskhub_https_hosts=["elsewhere.example.org"])
    assert any("(daskhub_https_hosts)" in e for e in errors), errors


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({**GROUPS}, "daskhub_oauth_groups_claim: groups come from the identity provider only when"),
        ({**OAUTH, "daskhub_oauth_allowed_groups": ["physics"]}, "daskhub_oauth_allowed_groups: needs"),
        ({**OAUTH, "daskhub_oauth_admin_groups": ["x"]}, "daskhub_oauth_admin_groups: needs daskhub_oauth_groups"),
        (
            {**OAUTH, **GROUPS, "daskhub_user_sync_groups": {"physics": ["alice"]}},
            "daskhub_user_sync_groups: the identity provider owns group membership",
        ),
        (
            {"daskhub_singleuser_profiles": [{"display_name": "GPU", "groups": ["physics"]}]},
            "daskhub_singleuser_profiles[0].groups: the local target offers no profiles",
        ),
        (
            {"daskhub_gateway_group_limits": {"physics": {"worker_cores": 0}}},
            "daskhub_gateway_group_limits.physics.worker_cores: must be a whole number >= 1, got 0",
        ),
        (
            {"daskhub_gateway_group_limits": {"physics": {"worker_memory": "lots"}}},
            "daskhub_gateway_group_limits.physics.worker_memory: must be a number of GiB",
        ),
        (
            {"daskhub_gateway_group_limits": {"physics": {"cores": 2}}},
            "daskhub_gateway_group_limits.physics.cores: unknown",
        ),
        (
            {"daskhub_gateway_group_limits": {"physics": {"worker_gpus": 1}}},
            "daskhub_gateway_group_limits.physics.worker_gpus: the site offers no GPUs",
        ),
    ],
)
def test_groups_rules(overrides, expected):
    errors = errors_for(**overrides)
    assert [e for e in errors if e.startswith(expected)], errors


def test_user_sync_may_keep_groups_where_the_hub_image_cannot_take_them_from_the_provider():
    # daskhub chart mode: oauthenticator 16.2.1 sets no JupyterHub group.
    site = {**OAUTH, **GROUPS, "daskhub_target": "kubernetes", "daskhub_user_sync_groups": {"physics": ["alice"]}}
    assert errors_for(**site, daskhub_chart_mode="daskhub") == []
    assert errors_for(**site, daskhub_chart_mode="composed")


def test_users_let_in_by_group_need_the_shared_uid_mode_with_system_accounts():
    inputs = {"system_accounts": "auto", "run_as_root": True}
    errors = errors_for(inputs, **OAUTH, **GROUPS)
    assert [e for e in errors if e.startswith("daskhub_oauth_allowed_groups: with system accounts")], errors
    assert errors_for({"system_accounts": False, "run_as_root": True}, **OAUTH, **GROUPS) == []


def test_on_the_local_target_the_callback_is_at_the_hubs_port():
    site = dict(OAUTH, daskhub_hub_public_url="", daskhub_oauth_callback_url="http://127.0.0.1:8000/hub/oauth_callback")
    assert errors_for({"local_hub_port": 8000}, **site) == []
    errors = errors_for({"local_hub_port": 8443}, **site)
    public = "not at the hub's public URL http://127.0.0.1:8443 (127.0.0.1 and daskhub_local_hub_port"
    assert [e for e in errors if public in e]
