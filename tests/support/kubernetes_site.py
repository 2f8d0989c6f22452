"""Site models, secrets and paths for the Kubernetes target's tests.

Models come from tests/support/site_models.py (built the way the daskhub_model role
builds them); this adds the secrets a site's store would hold, and the
rendered releases of a site (``render``) with their parts by key.
"""

from __future__ import annotations

import secrets as _secrets
from pathlib import Path

from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values

from support import site_models

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"
CHART_DATA = REPO / "roles" / "daskhub_kubernetes_values" / "files" / "chart-data"


def inventory_names() -> list[str]:
    return [path.name for path in site_models.inventories()]


def model(inventory: str | None = None, **overrides) -> dict:
    """The model of an inventory, always as a Kubernetes site."""
    overrides.setdefault("daskhub_target", "kubernetes")
    # The example site's vault.yml holds a placeholder, which the model refuses.
    for name, value in site_models.EXAMPLE_VAULT.items():
        overrides.setdefault(name, value)
    return site_models.build_model(INVENTORIES / inventory if inventory else None, **overrides)


def secrets(model_dict: dict) -> dict:
    """What daskhub_secrets holds for the model: fresh values like `openssl rand -hex 32`."""
    values = {name: _secrets.token_hex(32) for name in model_secrets.secret_names(model_dict)}
    if model_dict.get("authenticator") == "generic-oauth":
        values["oauth_client_secret"] = _secrets.token_hex(24)
    return values


def render(inventory="example-site", site_secrets=None, **overrides):
    """(model, secrets, rendered releases) of an inventory as a Kubernetes site."""
    site_model_dict = model(inventory, **overrides)
    site_secrets = site_secrets or secrets(site_model_dict)
    return site_model_dict, site_secrets, helm_values.render(site_model_dict, site_secrets)


def by_key(rendered):
    return {release["key"]: release for release in rendered["releases"]}


def hub_section(rendered, part="values"):
    releases = by_key(rendered)
    if "daskhub" in releases:
        return releases["daskhub"][part]["jupyterhub"]
    return releases["jupyterhub"][part]


def gateway_section(rendered, part="values"):
    releases = by_key(rendered)
    if "daskhub" in releases:
        return releases["daskhub"][part]["dask-gateway"]
    return releases["dask-gateway"][part]
