# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Helpers of the day-2 playbooks: what may be rotated, how to check a rotation, backups.

Pure Python (sqlite3 from the standard library), shared by the
daskhub.deploy filters and modules and their unit tests.
"""

from __future__ import annotations

import datetime
import os
import sqlite3

from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.state.sqlite_copy import online_copy

# Secrets the operator sets (Vault, inventory); the store does not own them.
OPERATOR_SECRETS = ("oauth_client_secret",)


def parse_names(value) -> list[str]:
    """A list from "-e rotate=a,b" (a string) or a YAML list; blanks and repeats dropped."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in items:
        name = str(item).strip()
        if name and name not in names:
            names.append(name)
    return names


def rotation_errors(rotate, secret_names, model) -> list[str]:
    """Why the requested rotation cannot run; empty when it can."""
    rotate = parse_names(rotate)
    if not rotate:
        return [
            "name the secrets to rotate: -e rotate=dask_gateway_api_token[,...] (this site has: "
            + ", ".join(secret_names)
            + ")"
        ]
    errors = []
    owned = list(OPERATOR_SECRETS)
    if (model or {}).get("dummy_password_set") in (True, "True", "true"):
        owned.append("dummy_password")
    for name in rotate:
        if name in owned:
            errors.append(f"{name}: set by the operator (inventory or Vault), change it there instead")
        elif name not in secret_names:
            errors.append(f"{name}: not a secret of this site (it has: {', '.join(secret_names)})")
    return errors


def service_token_secrets(model) -> dict:
    """{secret name: hub service name} of the secrets that are hub service tokens."""
    return {secret: service for service, secret in model_secrets.service_token_secrets(model or {}).items()}


def rotated_service_tokens(rotate, model) -> list[dict]:
    """For each rotated service token: {secret, service}; no values, safe to log."""
    mapping = service_token_secrets(model)
    return [{"secret": name, "service": mapping[name]} for name in parse_names(rotate) if name in mapping]


def timestamp(now=None) -> str:
    """UTC timestamp for backup file names, sortable: 20260301T120000Z."""
    moment = now or datetime.datetime.now(tz=datetime.UTC)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def sqlite_backup(source: str, dest_dir: str, prefix: str, now=None) -> str:
    """Consistent copy of a live SQLite database as <dest_dir>/<prefix>-<timestamp>.sqlite (0600).

    The copy is SQLite's online backup (state/sqlite_copy.py), so a hub
    writing at the same time cannot leave a torn copy.
    """
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no database at {source}")
    os.makedirs(dest_dir, mode=0o700, exist_ok=True)
    return online_copy(source, os.path.join(dest_dir, f"{prefix}-{timestamp(now)}.sqlite"))


class DatabaseBackupError(Exception):
    """A database that cannot be backed up (modules/sqlite_backup.py's failure)."""


def back_up_database(module) -> dict:
    """The sqlite_backup module's work: the database ``src`` copied to ``dest``, or into ``dest_dir`` by name."""
    params = module.params
    if not os.path.isfile(params["src"]):
        if params["missing_ok"]:
            return {"changed": False, "path": ""}
        raise DatabaseBackupError(f"no database to back up at {params['src']}")
    dest = params["dest"] or os.path.join(params["dest_dir"], f"{params['prefix']}-{timestamp()}.sqlite")
    if module.check_mode:
        return {"changed": True, "path": dest}
    try:
        if params["dest"]:
            os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
            path = online_copy(params["src"], dest)
        else:
            path = sqlite_backup(params["src"], params["dest_dir"], params["prefix"])
    except (OSError, sqlite3.Error) as err:
        raise DatabaseBackupError(f"backing {params['src']} up into {dest} failed: {err}") from err
    return {"changed": True, "path": path}


# What rotating each secret does to users' sessions. Servers and clusters
# survive every restart (cleanup_servers and stop_clusters_on_shutdown are
# off on local; z2jh and the gateway's controller keep them on Kubernetes).
_ROTATION_IMPACT = {
    "cookie_secret": (
        "ENDS every user's hub login: all users must log in again (their servers and clusters keep running)"
    ),
    "dummy_password": "users log in with the new shared password from now on (open sessions stay)",
    "oauth_client_secret": "new logins need the new client secret at the OAuth provider too",
    "proxy_secret_token": (
        "restarts the hub and its proxy: open browser connections drop for a few seconds and reconnect"
    ),
    "dask_gateway_api_token": "restarts the gateway: the API is down for a few seconds, running clusters are kept",
}
_SERVICE_TOKEN_IMPACT = "restarts the hub: no user session ends"  # noqa: S105  a message, not a password


def rotation_impact(rotate) -> list[str]:
    """One line per secret: what its rotation does to users' sessions, for before and after it acts."""
    return [f"{name}: {_ROTATION_IMPACT.get(name, _SERVICE_TOKEN_IMPACT)}" for name in parse_names(rotate)]
