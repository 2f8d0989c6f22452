"""Site models and secrets for the Kubernetes target's tests.

The model is built the way the daskhub_model role builds it: role defaults,
then an inventory's group_vars, then roles/daskhub_model/vars/main.yml
templated over them. Jinja runs natively (as Ansible does), so numbers and
lists keep their types.
"""

from __future__ import annotations

import secrets as _secrets
from pathlib import Path

import yaml
from jinja2.nativetypes import NativeEnvironment

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"
MODEL_ROLE = REPO / "roles" / "daskhub_model"
CHART_DATA = REPO / "roles" / "daskhub_kubernetes_values" / "files" / "chart-data"
SHARED_CHART_DATA = REPO.parent / "shared" / "chart-data"
_ENV = NativeEnvironment()


def inventory_names() -> list[str]:
    return sorted(p.name for p in INVENTORIES.iterdir() if (p / "group_vars").is_dir())


def _group_var_files(inventory: Path):
    for group in ("all", "daskhub"):
        base = inventory / "group_vars"
        for candidate in (base / f"{group}.yml", base / f"{group}.yaml"):
            if candidate.is_file():
                yield candidate
        folder = base / group
        if folder.is_dir():
            yield from sorted(folder.glob("*.y*ml"))


def _render(value, variables, depth=0):
    if depth > 20:
        raise RuntimeError(f"template loop in {value!r}")
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        result = _ENV.from_string(value).render(**variables)
        return _render(result, variables, depth + 1)
    if isinstance(value, dict):
        return {k: _render(v, variables, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, variables, depth) for v in value]
    return value


def site_vars(inventory: str | None = None, **overrides) -> dict:
    variables = yaml.safe_load((MODEL_ROLE / "defaults" / "main.yml").read_text())
    if inventory:
        folder = INVENTORIES / inventory
        variables["inventory_dir"] = str(folder)
        for path in _group_var_files(folder):
            variables.update(yaml.safe_load(path.read_text()) or {})
    variables.update(overrides)
    return {key: _render(value, variables) for key, value in variables.items()}


def model(inventory: str | None = None, **overrides) -> dict:
    variables = site_vars(inventory, **overrides)
    template = yaml.safe_load((MODEL_ROLE / "vars" / "main.yml").read_text())["daskhub_model"]
    return _render(template, variables)


def secrets(site_model_dict: dict, oauth_client_secret: str | None = None) -> dict:
    from ansible_collections.daskhub.deploy.plugins.module_utils import site_model  # noqa: PLC0415

    values = {name: _secrets.token_hex(32) for name in site_model.secret_names(site_model_dict)}
    if site_model_dict.get("authenticator") == "generic-oauth":
        values["oauth_client_secret"] = oauth_client_secret or _secrets.token_hex(24)
    return values
