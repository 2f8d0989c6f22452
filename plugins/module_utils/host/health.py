"""HTTP health checks of a deployed stack: the hub's API, the gateway through the hub."""

from __future__ import annotations

import time

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import hub_base_url
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import HttpTransport
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX


def health_checks(hub_url: str, gateway: bool = True) -> list[tuple[str, str]]:
    """(name, url) of the checks: the hub API, and the gateway through the hub."""
    hub_url = hub_url.rstrip("/")
    checks = [("hub API", f"{hub_url}/hub/api/")]
    if gateway:
        checks.append(("gateway health through the hub", f"{hub_url}{GATEWAY_PREFIX}/api/health"))
    return checks


def check_once(http: HttpTransport, name: str, url: str) -> tuple[bool, str, object]:
    """One attempt: (healthy, reason, body)."""
    answer = http.get(url)
    if answer.status is None:
        return False, f"{name}: {url} did not answer ({answer.error})", None
    if answer.error:
        return False, f"{name}: {url} answered {answer.error}", None
    if answer.data is None:
        return False, f"{name}: {url} answered HTTP {answer.status} without JSON", None
    if name.startswith("gateway") and not (isinstance(answer.data, dict) and answer.data.get("status") == "pass"):
        return False, f"{name}: {url} reports {answer.data!r}", answer.data
    return answer.status == 200, f"{name}: HTTP {answer.status}", answer.data


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
    # An https hub here is the hub's own proxy on this host's address, whose
    # certificate names the public host (and, before the first ACME order, is
    # the play's placeholder): this probe asks whether it serves. Whether
    # clients trust it is what verify.yml and status.yml check, through the
    # public URL.
    http = HttpTransport(5.0, validate_certs=False, https=hub_url.startswith("https:"))
    results = {}
    for name, url in health_checks(hub_url, gateway):
        while True:
            healthy, reason, body = check_once(http, name, url)
            if healthy:
                results[name] = body
                break
            if clock() >= deadline:
                raise TimeoutError(f"not healthy after {timeout:.0f}s: {reason}")
            sleep(interval)
    return results


def run(module) -> dict:
    """The daskhub_health module's work (``module_run.ModuleWork``): TimeoutError names the failing check."""
    params = module.params
    checks = wait_healthy(hub_base_url(params["hub_url"]), gateway=params["gateway"], timeout=params["timeout"])
    return {"changed": False, "hub_version": (checks.get("hub API") or {}).get("version", ""), "checks": checks}
