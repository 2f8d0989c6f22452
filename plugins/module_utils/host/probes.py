"""Probes of the local target's host: can other accounts run and reach our files, can the prefix be made, can the
host reach the identity provider."""

from __future__ import annotations

import json
import os

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import HttpTransport


def shared_path_problem(path: str) -> str | None:
    """Why other users cannot run ``path`` (system accounts run notebooks and clusters), or None.

    Follows symlinks: a venv's python links to its base interpreter, which
    must be reachable too (a pyenv under /root is not).
    """
    real = os.path.realpath(path)
    if not os.path.exists(real):
        return f"{path} does not exist"
    mode = os.stat(real).st_mode
    if not mode & 0o001:
        return f"{real} is not executable by other users"
    parent = os.path.dirname(real)
    while True:
        if not os.stat(parent).st_mode & 0o001:
            return f"{parent} (on the way to {real}) is not searchable by other users"
        if parent == os.path.dirname(parent):
            return None
        parent = os.path.dirname(parent)


def closed_parent(path: str) -> str | None:
    """The first directory above ``path`` that other accounts cannot enter, or None.

    The prefix itself is made 0755 by the play; its parents are the site's.
    As root, each user's (or the service account's) processes run the venv
    and read the configuration under the prefix, so every parent must be
    searchable (o+x); a prefix under /root or in a 0700 temp dir is not.
    """
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.exists(parent) and not os.stat(parent).st_mode & 0o001:
            return parent
        if parent == os.path.dirname(parent):
            return None
        parent = os.path.dirname(parent)


def prefix_problem(prefix: str) -> str | None:
    """Why the prefix cannot be used, or None. Probes by really creating a directory."""
    prefix = os.path.abspath(os.path.expanduser(prefix))
    probe_parent = prefix
    while not os.path.exists(probe_parent):
        probe_parent = os.path.dirname(probe_parent)
    if not os.path.isdir(probe_parent):
        return f"{probe_parent} is not a directory, so {prefix} cannot be created there"
    probe = os.path.join(probe_parent, f".daskhub-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError as err:
        return f"cannot write to {probe_parent} ({err.strerror}); choose another daskhub_local_prefix or run as root"
    return None


CRON_DAEMONS = ("/usr/sbin/cron", "/usr/sbin/crond")
CRONTAB = "/usr/bin/crontab"


def cron_probe(processes: list[dict]) -> dict:
    """Whether a cron daemon is installed, ``crontab`` is, and a cron daemon runs (of ``processes``)."""
    names = {os.path.basename(path) for path in CRON_DAEMONS}
    running = any(os.path.basename(process["exe"] or (process["argv"] or [""])[0]) in names for process in processes)
    return {
        "daemon": any(os.path.exists(path) for path in CRON_DAEMONS),
        "crontab": os.path.exists(CRONTAB),
        "running": running,
    }


def npm_package_version(package_json: str) -> str | None:
    """The version an npm package.json declares, or None when it is missing or unreadable."""
    try:
        with open(package_json, encoding="utf-8") as handle:
            version = json.load(handle).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def _locked_packages(path: str) -> dict | None:
    """path -> (version, integrity) of a package-lock.json's installed packages (the root left out)."""
    try:
        with open(path, encoding="utf-8") as handle:
            packages = json.load(handle)["packages"]
        return {name: (entry.get("version"), entry.get("integrity")) for name, entry in packages.items() if name}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def npm_lock_installed(directory: str) -> bool:
    """Whether ``directory``'s node_modules holds exactly what its package-lock.json locks.

    npm writes node_modules/.package-lock.json (its hidden lockfile) when an
    install completes; its packages, by version and integrity hash, are the
    lock's exactly after a complete ``npm ci``. A failed or partial install,
    another lock, or none reads as not installed. The registry's addresses
    (``resolved``) are left out: they depend on the npm configuration.
    """
    wanted = _locked_packages(os.path.join(directory, "package-lock.json"))
    return bool(wanted) and wanted == _locked_packages(os.path.join(directory, "node_modules", ".package-lock.json"))


def mtime(path: str) -> float | None:
    """When ``path`` was last modified, or None when it does not exist."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def endpoint_problem(url: str, timeout: float = 10.0) -> str | None:
    """Why the host cannot reach ``url`` (an identity provider's endpoint), or None when it answered.

    Any HTTP answer counts, an error status included (a token endpoint
    answers a bare GET with 405 or 400): the hub will be able to talk to it.
    """
    # Outside the site: through the environment's proxy, as the hub will reach it.
    client = HttpTransport(timeout=timeout, environment_proxy=True, https=url.startswith("https:"))
    try:
        answer = client.get(url, headers={"Accept": "*/*"})
    except (HubAPIError, ValueError) as err:
        return f"cannot reach {url} from this host ({err})"
    return None if answer.status is not None else f"cannot reach {url} from this host ({answer.error})"
