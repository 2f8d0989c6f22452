"""Build the site model the way the daskhub_model role does, for tests.

Role defaults, then an inventory's group_vars, then overrides, templated
with Jinja's native types as Ansible templates them; the `daskhub_model`
dict is then built from them as the role builds it, from the declaration
roles/daskhub_model/meta/variables.yml.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.model import variables as model_variables
from jinja2.nativetypes import NativeEnvironment

from support.versions import local_versions

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_ROLE = REPO_ROOT / "roles" / "daskhub_model"
INVENTORIES = REPO_ROOT / "inventories"


def model_defaults() -> dict:
    return yaml.safe_load((MODEL_ROLE / "defaults" / "main.yml").read_text())


def inventory_vars(inventory: Path) -> dict:
    """Merge group_vars/all and group_vars/daskhub of an inventory (files or dirs)."""
    merged: dict = {}
    for group in ("all", "daskhub"):
        for candidate in (inventory / "group_vars" / f"{group}.yml", inventory / "group_vars" / group):
            files = sorted(candidate.glob("*.yml")) if candidate.is_dir() else [candidate]
            for path in files:
                if path.is_file():
                    text = path.read_text()
                    if text.startswith("$ANSIBLE_VAULT"):
                        continue
                    merged.update(yaml.safe_load(text) or {})
    return merged


def _render(value, context, env):
    if isinstance(value, str) and "{{" in value:
        return env.from_string(value).render(context)
    if isinstance(value, dict):
        return {key: _render(item, context, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context, env) for item in value]
    return value


def site_variables(inventory: Path | None = None, **overrides) -> dict:
    variables = model_defaults()
    variables["inventory_dir"] = str(inventory or INVENTORIES / "local")
    if inventory is not None:
        variables.update(inventory_vars(inventory))
    variables.update(copy.deepcopy(overrides))
    return variables


def rendered_variables(inventory: Path | None = None, **overrides) -> dict:
    """The site's variables as the play sees them: templates resolved."""
    variables = site_variables(inventory, **overrides)
    env = NativeEnvironment()
    # Ansible templates variables lazily and recursively; defaults that refer
    # to other variables (daskhub_user_sync_manage_admins) are resolved first.
    for _ in range(3):
        variables = {name: _render(value, variables, env) for name, value in variables.items()}
    return variables


def build_model(inventory: Path | None = None, **overrides) -> dict:
    """The daskhub_model dict for an inventory (default: role defaults only)."""
    return model_variables.build_model(rendered_variables(inventory, **overrides))


def inventories() -> list[Path]:
    return sorted(path for path in INVENTORIES.iterdir() if (path / "group_vars").is_dir())


def local_settings(where=None, **overrides) -> dict:
    """The local target's settings (daskhub_local_settings) of a default site with its prefix at ``where``."""
    base = {
        "prefix": str(where or "/opt/daskhub"),
        "bind_ip": "127.0.0.1",
        "hub_port": 8000,
        "hub_api_port": 8081,
        "proxy_api_port": 8001,
        "gateway_port": 8002,
        "gateway_api_port": 8003,
        "system_users_requested": "auto",
        "system_users": False,
        "run_as_root": False,
        "service_user": "daskhub",
        "gateway_version": local_versions()["dask_gateway_server"],
    }
    base.update(overrides)
    return base


# What a site's vault holds in place of the example site's vault.yml
# placeholder, which the model refuses: every test that renders example-site
# passes it (as -e, or as an override).
EXAMPLE_VAULT = {"vault_daskhub_oauth_client_secret": "9d2f0e7c4b1a-issued-by-the-iam"}

# A generic-oauth site at https://hub.example.org, and its provider's groups,
# for the tests of the identity provider's settings.
OAUTH_SITE = {
    "daskhub_authenticator": "generic-oauth",
    "daskhub_oauth_client_id": "hub",
    "daskhub_oauth_client_secret": "4e0b5f1c9a",
    "daskhub_oauth_authorize_url": "https://iam.example.org/authorize",
    "daskhub_oauth_token_url": "https://iam.example.org/token",
    "daskhub_oauth_userdata_url": "https://iam.example.org/userinfo",
    "daskhub_oauth_callback_url": "https://hub.example.org/hub/oauth_callback",
    "daskhub_hub_public_url": "https://hub.example.org",
}
OAUTH_GROUPS = {
    "daskhub_oauth_groups_claim": "groups",
    "daskhub_oauth_allowed_groups": ["physics"],
    "daskhub_oauth_admin_groups": ["hub-admins"],
}
