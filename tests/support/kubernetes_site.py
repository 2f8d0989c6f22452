"""Site models, secrets and paths for the Kubernetes target's tests.

Models come from tests/site_models.py (built the way the daskhub_model role
builds them); this adds the secrets a site's store would hold.
"""

from __future__ import annotations

import secrets as _secrets
from pathlib import Path

import site_models
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"
CHART_DATA = REPO / "roles" / "daskhub_kubernetes_values" / "files" / "chart-data"


def inventory_names() -> list[str]:
    return [path.name for path in site_models.inventories()]


def model(inventory: str | None = None, **overrides) -> dict:
    """The model of an inventory, always as a Kubernetes site."""
    overrides.setdefault("daskhub_target", "kubernetes")
    return site_models.build_model(INVENTORIES / inventory if inventory else None, **overrides)


def secrets(model_dict: dict) -> dict:
    """What daskhub_secrets holds for the model: fresh values like `openssl rand -hex 32`."""
    values = {name: _secrets.token_hex(32) for name in model_secrets.secret_names(model_dict)}
    if model_dict.get("authenticator") == "generic-oauth":
        values["oauth_client_secret"] = _secrets.token_hex(24)
    return values
