"""HTTP health checks of a deployed stack: the hub's API, the gateway through the hub."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request

from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX


def _get_json(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310  http(s) only
    context = None
    if url.startswith("https://"):
        # The hub's own proxy on this host's address, whose certificate names
        # the public host (and, before the first ACME order, is the play's
        # placeholder): this probe asks whether it serves. Whether clients
        # trust it is what verify.yml and status.yml check, through the public URL.
        context = ssl._create_unverified_context()  # noqa: S323
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
        return response.status, json.loads(response.read() or b"null")


def health_checks(hub_url: str, gateway: bool = True) -> list[tuple[str, str]]:
    """(name, url) of the checks: the hub API, and the gateway through the hub."""
    hub_url = hub_url.rstrip("/")
    checks = [("hub API", f"{hub_url}/hub/api/")]
    if gateway:
        checks.append(("gateway health through the hub", f"{hub_url}{GATEWAY_PREFIX}/api/health"))
    return checks


def check_once(name: str, url: str, timeout: float = 5.0) -> tuple[bool, str, object]:
    """One attempt: (healthy, reason, body)."""
    try:
        status, body = _get_json(url, timeout)
    except urllib.error.HTTPError as err:
        return False, f"{name}: {url} answered HTTP {err.code}", None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return False, f"{name}: {url} did not answer ({reason})", None
    if name.startswith("gateway") and not (isinstance(body, dict) and body.get("status") == "pass"):
        return False, f"{name}: {url} reports {body!r}", body
    return status == 200, f"{name}: HTTP {status}", body


def wait_healthy(
    hub_url: str,
    gateway: bool = True,
    timeout: float = 120.0,
    interval: float = 1.0,
    clock=time.monotonic,
    sleep=time.sleep,
) -> dict:
    """Wait until every check passes; raise TimeoutError naming the failing one."""
    deadline = clock() + timeout
    results = {}
    for name, url in health_checks(hub_url, gateway):
        while True:
            healthy, reason, body = check_once(name, url)
            if healthy:
                results[name] = body
                break
            if clock() >= deadline:
                raise TimeoutError(f"not healthy after {timeout:.0f}s: {reason}")
            sleep(interval)
    return results
