# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Idle culling of notebook servers: jupyterhub-idle-culler, from the site's ``daskhub_cull_*`` keys.

The keys follow z2jh's ``cull.*`` values, with z2jh's defaults. On
Kubernetes the chart runs the culler itself: ``chart_values`` is its
``cull`` section. On the local target the hub runs it as a managed service
(``local_service`` and ``local_role``): the hub starts and restarts it and
hands it its token in ``JUPYTERHUB_API_TOKEN``; the token is the store's
``service_jupyterhub_idle_culler_api_token`` (model/secrets.py), so it is
rotated and its old values revoked like every other service token, instead
of a new token generated at every hub start. Dask clusters are not culled
here: the gateway's own idle timeout (daskhub_gateway_idle_timeout) stops them.

Pure Python, no Ansible imports.
"""

from __future__ import annotations

# z2jh's name for the service and its role (jupyterhub/files/hub/jupyterhub_config.py).
CULLER_SERVICE = "jupyterhub-idle-culler"
# z2jh's cull.* defaults (values.yaml of the jupyterhub chart 3.2.1 and 4.4.0).
DEFAULTS = {
    "enabled": True,
    "users": False,
    "admin_users": True,
    "remove_named_servers": False,
    "timeout": 3600,
    "every": 600,
    "concurrency": 10,
    "max_age": 0,
}
# What the culler needs (its README, "Permissions"); admin:users only to delete users.
SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
USERS_SCOPE = "admin:users"
# model field -> z2jh's cull key.
_CHART_KEYS = {
    "enabled": "enabled",
    "users": "users",
    "admin_users": "adminUsers",
    "remove_named_servers": "removeNamedServers",
    "timeout": "timeout",
    "every": "every",
    "concurrency": "concurrency",
    "max_age": "maxAge",
}
_BOOLEANS = ("enabled", "users", "admin_users", "remove_named_servers")


def _as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


def settings(model: dict) -> dict:
    """The culler's settings: the model's ``cull`` section over z2jh's defaults, typed.

    Call it on a validated model (validation/model.py checks the numbers).
    """
    given = {key: value for key, value in (model.get("cull") or {}).items() if value is not None}
    merged = dict(DEFAULTS, **given)
    return {key: _as_bool(value) if key in _BOOLEANS else int(value) for key, value in merged.items()}


def enabled(model: dict) -> bool:
    """Whether the site culls (read on its own: the secrets' names need it before the numbers are checked)."""
    value = (model.get("cull") or {}).get("enabled")
    return DEFAULTS["enabled"] if value is None else _as_bool(value)


def chart_values(model: dict) -> dict:
    """z2jh's ``cull`` section, every key set from the model."""
    values = settings(model)
    return {chart_key: values[field] for field, chart_key in _CHART_KEYS.items()}


def scopes(model: dict) -> list[str]:
    """The narrowest scopes the culler needs for these settings (z2jh's role, the same scopes)."""
    return [*SCOPES, USERS_SCOPE] if settings(model)["users"] else list(SCOPES)


def command_arguments(model: dict, api_url: str) -> list[str]:
    """The culler's command-line options, as z2jh's jupyterhub_config.py builds them."""
    values = settings(model)
    arguments = [
        f"--url={api_url}",
        f"--timeout={values['timeout']}",
        f"--cull-every={values['every']}",
        f"--concurrency={values['concurrency']}",
    ]
    if values["users"]:
        arguments.append("--cull-users")
    if not values["admin_users"]:
        arguments.append("--cull-admin-users=false")
    if values["remove_named_servers"]:
        arguments.append("--remove-named-servers")
    if values["max_age"]:
        arguments.append(f"--max-age={values['max_age']}")
    return arguments


def local_service(model: dict, python: str, api_url: str) -> dict:
    """The hub-managed service of the local target: JupyterHub runs ``command`` and restarts it with the hub."""
    return {
        "name": CULLER_SERVICE,
        "command": [python, "-m", "jupyterhub_idle_culler", *command_arguments(model, api_url)],
        "display": False,
    }


def local_role(model: dict) -> dict:
    return {
        "name": CULLER_SERVICE,
        "description": "Stop idle notebook servers (jupyterhub-idle-culler)",
        "scopes": scopes(model),
        "services": [CULLER_SERVICE],
    }


def validate(model: dict, errors: list, variable_of) -> None:
    """The culler's numbers: whole, positive (max_age: 0 for none), every <= timeout; errors name the variable."""
    raw = model.get("cull") or {}
    numbers = {}
    for field, minimum in (("timeout", 1), ("every", 1), ("concurrency", 1), ("max_age", 0)):
        value = raw.get(field)
        if value is None:
            numbers[field] = DEFAULTS[field]
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if isinstance(value, bool) or number is None or number != int(number) or number < minimum:
            kind = "a whole number of seconds" if field != "concurrency" else "a whole number"
            errors.append(f"{variable_of('cull.' + field)}: must be {kind} >= {minimum}, got {value!r}")
            continue
        numbers[field] = int(number)
    if {"timeout", "every"} <= set(numbers) and numbers["every"] > numbers["timeout"]:
        errors.append(
            f"{variable_of('cull.every')}: {numbers['every']} is more than "
            f"{variable_of('cull.timeout')} ({numbers['timeout']}): a server would sit idle up to "
            "every + timeout seconds; check at least once per timeout"
        )
