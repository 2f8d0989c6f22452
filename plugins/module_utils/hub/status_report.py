# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The status of a site as people read it (hub/status.py gathers it): the problems' wording and the table.

Standard library only; no token or secret is ever in a line.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.hub import dask_clusters


def age_text(seconds) -> str:
    return "?" if seconds is None else dask_clusters._human_age(max(0, seconds))


def gib(value) -> str:
    return f"{value / 2**30:g} GiB"


def stale_problem(what, entry) -> str:
    limit = age_text(entry["limit_seconds"])
    if not entry["found"]:
        return f"no {what} on record (the limit is {limit})"
    if entry["ok"] is False:
        return f"the last {what} failed ({age_text(entry['age_seconds'])} ago)"
    return f"the last {what} was {age_text(entry['age_seconds'])} ago, more than {limit}"


def _last_line(label, entry) -> str:
    if not entry["found"]:
        return f"{label}: never"
    result = {True: "ok", False: "FAILED"}.get(entry["ok"], "?")
    stale = "  STALE" if entry["stale"] else ""
    detail = f"  {entry['detail']}" if entry.get("detail") else ""
    return f"{label}: {result}, {age_text(entry['age_seconds'])} ago ({entry['time']}){detail}{stale}"


def table(result: dict, target: str) -> list[str]:
    """The compact table for humans (no tokens)."""
    lines = [f"status of the {target} target at {result['now']}"]
    lines += [f"  {s['name']:<28} {'up' if s['up'] else 'DOWN':<5} {s['detail']}" for s in result["services"]]
    versions = result["versions"]
    lines.append("versions: " + ", ".join(f"{name} {versions[name]}" for name in sorted(versions) if versions[name]))
    hub = result.get("hub")
    if hub is None:
        lines.append("users: unknown (the hub did not answer)")
    else:
        servers = hub["servers"]
        shown = ", ".join(s["server"] + ("" if s["ready"] else f" ({s['pending']})") for s in servers)
        running = f"{len(servers)} running" + (f": {shown}" if shown else "")
        if not hub["servers_visible"]:
            running = "not visible to this token (it lacks read:servers)"
        lines.append(f"users: {hub['users']} ({hub['admins']} admins); servers: {running}")
    if result["users_clusters"]:
        lines.append("dask clusters:")
        for user in result["users_clusters"]:
            lines.append(
                f"  {user['user']}: {user['clusters']} cluster(s), {user['workers']} worker(s), "
                f"{user['cores']:g} cores, {gib(user['memory_bytes'])}"
            )
        for cluster in result["clusters"]:
            cores = "?" if cluster.get("cores") is None else f"{cluster['cores']:g}"
            memory = "?" if cluster.get("memory_bytes") is None else gib(cluster["memory_bytes"])
            lines.append(
                f"    {cluster['name']}  user={cluster['user']}  status={cluster['status']}  "
                f"age={age_text(cluster['age_seconds'])}  workers={cluster['workers']}  cores={cores}  memory={memory}"
            )
    else:
        lines.append("dask clusters: none")
    lines.append(_last_line("last user sync", result["user_sync"]))
    lines.append(_last_line("last backup", result["backup"]))
    cert = result.get("certificate")
    if cert is None:
        lines.append("certificate: none (the hub is served over plain http)")
    elif cert["expires"]:
        lines.append(f"certificate of {cert['host']}: expires {cert['expires']} ({cert['days_left']} days)")
    else:
        lines.append(f"certificate of {cert['host']}: unknown ({cert['error']})")
    lines += [f"PROBLEM: {problem}" for problem in result["problems"]]
    return lines
