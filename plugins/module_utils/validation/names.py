"""The rules for user names (JupyterHub's) and account names (useradd's)."""

from __future__ import annotations

import re

from ansible_collections.daskhub.deploy.plugins.module_utils.model.variables import variable_of
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.inputs import plain_value, shown_value

# --- Names of users ------------------------------------------------------------

# JupyterHub (4 and 5) refuses a name with '/' or with leading or trailing
# whitespace (5 also one of only dots), and its authenticators lowercase every login name, so a name
# with capitals never matches the user who logs in. Whitespace, control
# characters and the URL's own delimiters inside a name break the URLs the
# name is part of (/user/<name>/, the API's /users/<name>).
_NAME_FORBIDDEN = re.compile(r"[\s/\\?#%\x00-\x1f\x7f]")
# useradd's default NAME_REGEX (shadow) and its 32-character limit.
_ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_-]*\$?$")
ACCOUNT_NAME_MAX = 32
_NAME_LISTS = ("users", "admin_users", "blocked_users")


def account_problem(name: str, variable: str = "daskhub_local_system_users") -> str | None:
    """Why ``name`` cannot be a system account (useradd's rules), or None; ``variable`` asks for accounts."""
    if name == "root":
        # Whatever logs in as this hub user would run notebooks and clusters as uid 0.
        return "'root' is the superuser's account: no hub user or service may run as root"
    if len(name) > ACCOUNT_NAME_MAX:
        return f"{name!r} is longer than {ACCOUNT_NAME_MAX} characters, too long for a system account"
    if not _ACCOUNT_NAME.match(name):
        return (
            f"{name!r} is not a valid system account name ({variable}: a lowercase letter "
            "or '_', then lowercase letters, digits, '_' or '-')"
        )
    return None


def name_problem(name, *, system_accounts: bool = False) -> str | None:
    """Why ``name`` cannot be a hub user's name, or None when it can."""
    problem = None
    if not isinstance(name, str):
        problem = f"must be a string, got {shown_value(name)} (quote it)"
    elif not name:
        problem = "must not be empty"
    elif bad := sorted(set(_NAME_FORBIDDEN.findall(name))):
        described = ", ".join(sorted({"whitespace" if char.isspace() else repr(char) for char in bad}))
        problem = f"{name!r} contains {described}, which JupyterHub user names cannot"
    elif set(name) == {"."}:
        problem = f"{name!r} is only dots, which JupyterHub 5 refuses (it would be a relative URL path)"
    elif name != name.lower():
        problem = f"{name!r} has capitals: JupyterHub lowercases login names, write {name.lower()!r}"
    elif system_accounts:
        problem = account_problem(name)
    return problem


def validate_names(model, errors, system_accounts):
    for key in _NAME_LISTS:
        variable = variable_of(key)
        names = model.get(key) or []
        if not isinstance(names, list):
            continue
        for index, name in enumerate(names):
            problem = name_problem(plain_value(name), system_accounts=system_accounts)
            if problem:
                errors.append(f"{variable}[{index}]: {problem}")
