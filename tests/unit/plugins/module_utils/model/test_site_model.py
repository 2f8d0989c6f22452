"""The site model's validation and the pieces both targets render from."""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation
from support.site_models import build_model
from support.versions import GATEWAY_VERSION

OAUTH = {
    "daskhub_authenticator": "generic-oauth",
    "daskhub_oauth_client_id": "hub",
    "daskhub_oauth_client_secret": "s3cret",
    "daskhub_oauth_authorize_url": "https://iam.example.org/authorize",
    "daskhub_oauth_token_url": "https://iam.example.org/token",
    "daskhub_oauth_userdata_url": "https://iam.example.org/userinfo",
    "daskhub_oauth_callback_url": "https://hub.example.org/hub/oauth_callback",
    "daskhub_oauth_login_service": "ATLAS IAM",
}


def errors_for(**overrides):
    return model_validation.validate(build_model(**overrides))


def test_defaults_are_valid():
    assert errors_for() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"daskhub_gateway_worker_cores": {"default": 5, "min": 1, "max": 4}},
            "daskhub_gateway_worker_cores: needs min",
        ),
        ({"daskhub_gateway_worker_memory": {"default": 1, "min": 2, "max": 4}}, "daskhub_gateway_worker_memory: needs"),
        ({"daskhub_gateway_worker_cores": {"default": 1, "min": 0, "max": 4}}, "worker_cores.min: must be at least 1"),
        ({"daskhub_gateway_worker_cores": {"default": 1.5, "min": 1, "max": 4}}, "default must be whole numbers"),
        ({"daskhub_gateway_worker_memory": {"default": 2, "max": 4}}, "worker_memory: missing min"),
        ({"daskhub_gateway_worker_image": "pangeo/base-notebook"}, quantities.IMAGE_TAG_ERROR),
        ({"daskhub_gateway_worker_image": "registry:5000/notebook"}, quantities.IMAGE_TAG_ERROR),
        ({"daskhub_singleuser_image_tag": ""}, "daskhub_singleuser_image_tag: required"),
        ({"daskhub_gateway_scheduler_memory": {"request": "32G", "limit": "16G"}}, "request 32G is more than limit"),
        ({"daskhub_gateway_scheduler_cores": {"request": 2, "limit": 1}}, "scheduler_cores: request 2 is more"),
        ({"daskhub_gateway_scheduler_memory": {"request": "lots", "limit": "16G"}}, "not a quantity: 'lots'"),
        (
            {"daskhub_singleuser_memory_guarantee": "4G", "daskhub_singleuser_memory_limit": "2G"},
            "daskhub_singleuser_memory_guarantee: 4G is more than daskhub_singleuser_memory_limit 2G",
        ),
        ({"daskhub_singleuser_cpu_guarantee": "x"}, "daskhub_singleuser_cpu_guarantee: not a quantity: 'x'"),
        ({"daskhub_blocked_users": ["alice"], "daskhub_users": ["alice"]}, "also in daskhub_users"),
        ({"daskhub_authenticator": "generic-oauth"}, "daskhub_oauth_client_id: required"),
        ({**OAUTH, "daskhub_oauth_client_secret": ""}, "daskhub_oauth_client_secret: required"),
        ({**OAUTH, "daskhub_oauth_token_url": "iam/token"}, "must be an http(s) URL"),
        ({"daskhub_https_enabled": True}, "daskhub_https_hosts: at least one"),
        ({"daskhub_proxy_load_balancer_ip": "not-an-ip"}, "not an IP address"),
        ({"daskhub_gateway_traefik_load_balancer_source_ranges": ["10.0.0.0/33"]}, "not a CIDR range"),
        ({"daskhub_gateway_idle_timeout": -1}, "daskhub_gateway_idle_timeout: must be"),
        ({"daskhub_gateway_cluster_max_cores": 0}, "cluster_max_cores: must be a positive"),
        ({"daskhub_gateway_cluster_max_memory": "x"}, "cluster_max_memory: not a quantity"),
        ({"daskhub_hub_extra_services": {"user-sync": {}}}, "'user-sync' is defined by the project"),
        ({"daskhub_hub_extra_services": {"Bad_Name": {}}}, "not a valid service name"),
        ({"daskhub_target": "vm"}, "daskhub_target: must be one of"),
        (
            {"daskhub_singleuser_profiles": [{"display_name": "a", "image": "img"}]},
            "daskhub_singleuser_profiles[0].image: 'img'",
        ),
        (
            {
                "daskhub_singleuser_profiles": [
                    {"display_name": "a", "default": True},
                    {"display_name": "b", "default": True},
                ]
            },
            "2 profiles are marked default",
        ),
        (
            {"daskhub_singleuser_profiles": [{"display_name": "a", "mem_guarantee": "2T", "mem_limit": "1T"}]},
            "profiles[0].mem: guarantee 2T",
        ),
        (
            {"daskhub_singleuser_extra_volumes": [{"name": "cvmfs", "host_path": "/x", "mount_path": "/cvmfs",
                                                   "mount_propagation": "Sideways"}]},
            "mount_propagation: must be",
        ),
        (
            {
                "daskhub_gateway_worker_gpus": {
                    "enabled": True, "default": 2, "min": 0, "max": 1, "resource": "nvidia.com/gpu",
                }
            },
            "daskhub_gateway_worker_gpus: needs min <= default <= max",
        ),
    ],
)
def test_each_rule_names_the_variable(overrides, expected):
    errors = errors_for(**overrides)
    assert any(expected in error for error in errors), errors


def test_every_problem_is_reported_at_once():
    errors = errors_for(
        daskhub_gateway_worker_cores={"default": 9, "min": 1, "max": 4},
        daskhub_gateway_worker_image="no-tag",
        daskhub_blocked_users=["alice"],
        daskhub_users=["alice"],
    )
    assert len(errors) == 3
    with pytest.raises(model_validation.ModelError) as raised:
        model_validation.assert_valid(build_model(daskhub_gateway_worker_image="no-tag"))
    assert "daskhub_gateway_worker_image" in str(raised.value)


def test_valid_oauth_site():
    assert errors_for(**OAUTH) == []


@pytest.mark.parametrize(
    ("image", "tagged"),
    [
        ("pangeo/base-notebook:2020.11.06", True),
        ("registry.example.org:5000/team/img:1.0", True),
        ("registry.example.org:5000/team/img", False),
        ("img@sha256:" + "a" * 64, True),
        ("img:", False),
        ("", False),
    ],
)
def test_image_has_tag(image, tagged):
    assert quantities.image_has_tag(image) is tagged


@pytest.mark.parametrize(
    ("quantity", "value"),
    [("2G", 2 * 2**30), ("32Gi", 32 * 2**30), ("1T", 2**40), ("500m", 0.5), (4, 4.0), ("1.5G", 1.5 * 2**30)],
)
def test_parse_quantity(quantity, value):
    assert quantities.parse_quantity(quantity) == value


def test_secret_names_follow_the_model():
    assert model_secrets.secret_names(build_model()) == [
        "proxy_secret_token", "cookie_secret", "dummy_password", "dask_gateway_api_token", "user_sync_api_token",
        "service_daskhub_verify_api_token", "service_jupyterhub_idle_culler_api_token",
    ]
    # On Kubernetes the chart's culler has the hub's own token; without culling, no culler.
    assert "service_jupyterhub_idle_culler_api_token" not in model_secrets.secret_names(
        build_model(daskhub_target="kubernetes")
    )
    assert "service_jupyterhub_idle_culler_api_token" not in model_secrets.secret_names(
        build_model(daskhub_cull_enabled=False)
    )
    names = model_secrets.secret_names(build_model(**OAUTH, daskhub_hub_extra_services={"grafana-bridge": {}}))
    assert "dummy_password" not in names
    assert "oauth_client_secret" in names
    assert names[-1] == "service_grafana_bridge_api_token"


def test_hub_config_has_users_and_no_secret():
    model = build_model(**OAUTH, daskhub_users=["Bob", "alice"], daskhub_admin_users=["carol"])
    config = hub_model.hub_config(model, GATEWAY_VERSION)
    assert config["JupyterHub"]["authenticator_class"] == "generic-oauth"
    # The site's users, and the verify user (an ordinary user of its own).
    assert config["Authenticator"]["allowed_users"] == ["Bob", "alice", "carol", "daskhub-verify-user"]
    assert config["Authenticator"]["admin_users"] == ["carol"]
    assert config["GenericOAuthenticator"]["username_claim"] == "preferred_username"
    assert config["GenericOAuthenticator"]["login_service"] == "ATLAS IAM"
    assert "s3cret" not in repr(config)
    secret = hub_model.hub_secret_config(model, {"oauth_client_secret": "s3cret"})
    assert secret == {"GenericOAuthenticator": {"client_secret": "s3cret"}}


def test_services_roles_and_tokens():
    model = build_model(
        daskhub_admin_users=["admin"],
        daskhub_hub_extra_services={"monitor": {"scopes": ["read:metrics"], "url": "http://m"}},
    )
    services = hub_model.hub_services(model, "http://gateway:8000")
    assert services["dask-gateway"] == {"display": False, "url": "http://gateway:8000"}
    assert services["user-sync"] == {"admin": True}
    assert services["monitor"] == {"url": "http://m"}
    secrets = {name: f"value-{name}" for name in model_secrets.secret_names(model)}
    tokens = model_secrets.service_tokens(model, secrets)
    assert tokens == {
        "dask-gateway": "value-dask_gateway_api_token",
        "user-sync": "value-user_sync_api_token",
        "daskhub-verify": "value-service_daskhub_verify_api_token",
        "jupyterhub-idle-culler": "value-service_jupyterhub_idle_culler_api_token",
        "monitor": "value-service_monitor_api_token",
    }
    new_roles = {role["name"]: role for role in hub_model.hub_roles(model, GATEWAY_VERSION)}
    assert new_roles["user"]["scopes"] == ["self", "access:services!service=dask-gateway"]
    assert new_roles["user-sync"]["scopes"] == ["list:users", "read:users", "admin:users"]
    assert new_roles["service-monitor"]["services"] == ["monitor"]
    old_roles = {role["name"] for role in hub_model.hub_roles(model, "2024.1.0")}
    assert "user" not in old_roles


def test_user_sync_is_no_admin_without_managed_admins():
    services = hub_model.hub_services(build_model(daskhub_admin_users=[]), None)
    assert services["user-sync"] == {"admin": False}
    assert "url" not in services["dask-gateway"]


def test_cluster_config():
    model = build_model(
        daskhub_gateway_cluster_max_memory="256G", daskhub_gateway_cluster_max_workers=20,
        daskhub_gateway_scheduler_memory={"request": "32G", "limit": "100G"},
    )
    config = gateway_model.gateway_cluster_config(model)
    assert config["idle_timeout"] == 1800.0
    assert config["cluster_max_memory"] == 256 * 2**30
    assert config["cluster_max_workers"] == 20
    assert config["scheduler_memory"] == 32 * 2**30
    assert "cluster_max_cores" not in config


def test_hub_url():
    assert hub_model.hub_url(build_model(), 8123) == "http://127.0.0.1:8123"
    kube = build_model(daskhub_target="kubernetes", daskhub_https_enabled=True, daskhub_https_hosts=["hub.example.org"])
    assert hub_model.hub_url(kube) == "https://hub.example.org"
    assert hub_model.hub_url(build_model(daskhub_target="kubernetes")) == ""
    assert hub_model.hub_url(build_model(daskhub_hub_public_url="https://x.org/")) == "https://x.org"


def test_numbers_given_as_extra_var_strings():
    # `-e daskhub_gateway_idle_timeout=900` arrives as a string.
    model = build_model(
        daskhub_gateway_idle_timeout="900",
        daskhub_gateway_cluster_max_cores="8",
        daskhub_gateway_cluster_max_workers="4",
    )
    assert model_validation.validate(model) == []
    config = gateway_model.gateway_cluster_config(model)
    assert (config["idle_timeout"], config["cluster_max_cores"], config["cluster_max_workers"]) == (900.0, 8, 4)
    assert any("idle_timeout" in error for error in errors_for(daskhub_gateway_idle_timeout="soon"))


def test_verify_service_acts_for_one_dedicated_user_only():
    model = build_model(daskhub_users=["alice", "bob"], daskhub_admin_users=["root-user"])
    assert hub_model.verify_user(model) == "daskhub-verify-user"
    assert hub_model.verify_user(build_model(daskhub_users=["alice"], daskhub_verify_user="bob")) == "bob"
    assert "service_daskhub_verify_api_token" in model_secrets.secret_names(model)
    assert hub_model.hub_services(model, None)["daskhub-verify"] == {"display": False}
    role = {role["name"]: role for role in hub_model.hub_roles(model, GATEWAY_VERSION)}["daskhub-verify"]
    # It may start, stop and open that one server, and mint no token at all.
    assert role["scopes"] == [
        "servers!user=daskhub-verify-user",
        "access:servers!user=daskhub-verify-user",
        "read:users:name!user=daskhub-verify-user",
    ]
    assert not any(scope.startswith("tokens") for scope in role["scopes"])
    assert role["services"] == ["daskhub-verify"]
    # An allowed user (it may log in and spawn), never an admin.
    authenticator = hub_model.hub_config(model, GATEWAY_VERSION)["Authenticator"]
    assert "daskhub-verify-user" in authenticator["allowed_users"]
    assert "daskhub-verify-user" not in authenticator["admin_users"]
    everyone = build_model(daskhub_allow_all_users=True)
    assert hub_model.verify_user(everyone) == "daskhub-verify-user"
    assert hub_model.hub_config(everyone, GATEWAY_VERSION)["Authenticator"]["allowed_users"] == ["daskhub-verify-user"]


def test_verify_user_must_not_be_an_admin_or_blocked():
    admin = build_model(daskhub_admin_users=["hub-admin"], daskhub_verify_user="hub-admin")
    errors = model_validation.validate(admin)
    assert any(e.startswith("daskhub_verify_user: hub-admin is in daskhub_admin_users") for e in errors)
    blocked = build_model(daskhub_users=["a"], daskhub_blocked_users=["eve"], daskhub_verify_user="eve")
    errors = model_validation.validate(blocked)
    assert any(e.startswith("daskhub_verify_user: eve is in daskhub_blocked_users") for e in errors)


def test_user_sync_is_admin_exactly_when_it_manages_admins():
    assert hub_model.hub_services(build_model(daskhub_admin_users=["admin"]), None)["user-sync"] == {"admin": True}
    external_admins = build_model(daskhub_admin_users=[], daskhub_user_sync_manage_admins=True)
    assert hub_model.hub_services(external_admins, None)["user-sync"] == {"admin": True}
    hands_off = build_model(daskhub_admin_users=["admin"], daskhub_user_sync_manage_admins=False)
    assert hub_model.hub_services(hands_off, None)["user-sync"] == {"admin": False}
