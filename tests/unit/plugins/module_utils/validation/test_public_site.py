"""A local site on a public address: HTTPS and a real authenticator, or the explicit override
(plugins/module_utils/validation/public_site.py), checked with the model through the filter the
model role calls, before anything changes."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.filter.site_model import site_model_errors
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.public_site import is_public
from support.site_models import build_model

WILDCARD = "0.0.0.0"  # noqa: S104  the address under test, not a bind
OAUTH = {
    "daskhub_authenticator": "generic-oauth",
    "daskhub_oauth_client_id": "daskhub",
    "daskhub_oauth_client_secret": "a-real-secret-from-the-vault",
    "daskhub_oauth_authorize_url": "https://iam.example.org/authorize",
    "daskhub_oauth_token_url": "https://iam.example.org/token",
    "daskhub_oauth_userdata_url": "https://iam.example.org/userinfo",
    "daskhub_oauth_callback_url": "https://hub.example.org/hub/oauth_callback",
    "daskhub_oauth_username_key": "preferred_username",
}
HTTPS = {
    "daskhub_https_enabled": True,
    "daskhub_https_hosts": ["hub.example.org"],
    "daskhub_https_letsencrypt_contact_email": "ops@example.org",
}


def errors(bind_ip, **variables):
    return site_model_errors(build_model(daskhub_target="local", **variables), local_bind_ip=bind_ip)


@pytest.mark.parametrize(
    ("bind_ip", "public"),
    [
        ("127.0.0.1", False),
        ("127.0.1.1", False),
        ("::1", False),
        (WILDCARD, True),
        ("::", True),
        ("192.0.2.10", True),
        ("2001:db8::1", True),
        ("not-an-ip", False),
    ],
)
def test_which_addresses_are_public(bind_ip, public):
    assert is_public(bind_ip) is public


def test_the_dummy_authenticator_without_https_on_a_public_address_is_refused_naming_both_variables():
    found = errors(WILDCARD)
    assert any(e.startswith("daskhub_https_enabled: must be true when daskhub_local_bind_ip is 0.0.0.0") for e in found)
    assert any(e.startswith("daskhub_authenticator: dummy is refused when daskhub_local_bind_ip") for e in found)
    assert all("daskhub_allow_insecure_public_site" in e for e in found if "daskhub_local_bind_ip" in e)


def test_https_alone_does_not_make_the_dummy_authenticator_public_safe():
    found = errors("192.0.2.10", **HTTPS)
    assert [e.split(":")[0] for e in found] == ["daskhub_authenticator"]


def test_a_real_authenticator_alone_still_needs_https():
    found = errors("192.0.2.10", **OAUTH)
    assert [e.split(":")[0] for e in found] == ["daskhub_https_enabled"]


def test_https_and_a_real_authenticator_on_a_public_address_pass():
    assert errors(WILDCARD, **OAUTH, **HTTPS) == []


def test_the_documented_override_accepts_a_public_site_as_it_is():
    assert errors(WILDCARD, daskhub_allow_insecure_public_site=True) == []


@pytest.mark.parametrize("bind_ip", ["127.0.0.1", "::1"])
def test_loopback_keeps_the_dummy_authenticator_and_plain_http(bind_ip):
    assert errors(bind_ip) == []


def test_the_kubernetes_target_is_not_concerned_by_the_local_bind_address():
    model = build_model(daskhub_target="kubernetes")
    assert not [e for e in site_model_errors(model, local_bind_ip=WILDCARD) if "bind_ip" in e]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"daskhub_https_type": "manual"}, ["daskhub_https_certificate_file", "daskhub_https_key_file"]),
        (
            {
                "daskhub_https_type": "manual",
                "daskhub_https_certificate_file": "/nonexistent/site.crt",
                "daskhub_https_key_file": "/nonexistent/site.key",
            },
            ["daskhub_https_certificate_file", "daskhub_https_key_file"],
        ),
        ({"daskhub_https_acme_directory": "http://acme.example.org/dir"}, ["daskhub_https_acme_directory"]),
        ({"daskhub_https_renew_days": 0}, ["daskhub_https_renew_days"]),
        (
            {"daskhub_target": "kubernetes", "daskhub_https_acme_ca_bundle": "/etc/pebble/ca.pem"},
            ["daskhub_https_acme_ca_bundle"],
        ),
    ],
)
def test_the_https_settings_are_checked_naming_the_variable(variables, expected):
    model = build_model(**{"daskhub_target": "local", **HTTPS, **variables})
    assert sorted(e.split(":")[0] for e in site_model_errors(model)) == expected
