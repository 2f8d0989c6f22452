# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Which host accounts may stand behind hub users on the local target.

With system accounts (daskhub_local_system_users), each hub user's notebooks
and Dask clusters run as the host account of the same name. The project
makes those accounts itself and marks them with a group; an account of that
name that already exists and is not marked belongs to someone else (root, a
service, the operator) and logging in as that hub user would run code as it.
Sites that really map hub users onto existing accounts list them for
adoption; even then never uid 0 nor a system uid.

Standard library only. The gateway's backends
(roles/daskhub_local/files/daskhub_local_backends.py) read UID_MIN the same
way on the host, where this collection is not installed.
"""

from __future__ import annotations

import grp
import pwd
from collections.abc import Iterable, Mapping

LOGIN_DEFS = "/etc/login.defs"
# useradd's default when /etc/login.defs does not set UID_MIN.
DEFAULT_UID_MIN = 1000
ADOPTED_VARIABLE = "daskhub_local_adopted_accounts"


def uid_min(login_defs: str = LOGIN_DEFS) -> int:
    """The first uid of ordinary accounts on this host (UID_MIN of login.defs)."""
    try:
        with open(login_defs, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "UID_MIN" and fields[1].isdigit():
                    return int(fields[1])
    except OSError:
        pass
    return DEFAULT_UID_MIN


def _privileged(name: str, uid: int, first_uid: int) -> str | None:
    if uid == 0:
        return f"{name!r} is uid 0 on this host: no hub user may run as root"
    if uid < first_uid:
        return f"{name!r} is a system account of this host (uid {uid}, below UID_MIN {first_uid}), a service's"
    return None


def account_problems(
    names_by_variable: Mapping[str, Iterable[str]],
    group: str,
    adopted: Iterable[str] = (),
    first_uid: int | None = None,
) -> list[str]:
    """Every hub user whose existing host account may not run its notebooks, one line each naming the variable."""
    first_uid = uid_min() if first_uid is None else first_uid
    try:
        ours = set(grp.getgrnam(group).gr_mem)
    except KeyError:
        ours = set()
    adopted = set(adopted)
    problems = []
    for name in sorted(adopted):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            problems.append(f"{ADOPTED_VARIABLE}: {name!r} is no account of this host, so there is nothing to adopt")
            continue
        problem = _privileged(name, entry.pw_uid, first_uid)
        if problem:
            problems.append(f"{ADOPTED_VARIABLE}: {problem}; it can never be adopted")
    for variable, names in names_by_variable.items():
        for name in names:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue  # made by the play, in the group
            problem = _privileged(name, entry.pw_uid, first_uid)
            if problem:
                problems.append(f"{variable}: {problem}")
            elif name not in ours and name not in adopted:
                problems.append(
                    f"{variable}: {name!r} is an existing account of this host that this project did not make "
                    f"(not in group {group}); logging in as that hub user would run code as it. Rename the hub "
                    f"user, or list it in {ADOPTED_VARIABLE} to map it onto that account on purpose"
                )
    return list(dict.fromkeys(problems))
