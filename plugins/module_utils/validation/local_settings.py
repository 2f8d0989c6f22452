"""The local target's settings (prefix, bind address, ports, isolation): every problem at once."""

from __future__ import annotations

import ipaddress
import os

from ansible_collections.daskhub.deploy.plugins.module_utils.validation import names as name_rules

PORT_NAMES = ("hub_port", "hub_api_port", "proxy_api_port", "gateway_port", "gateway_api_port")
HTTPS_PORT_NAMES = ("http_port", "gateway_http_port")


class LocalSettingsError(ValueError):
    """The local settings break a rule; the message lists every problem."""


def check_settings(settings: dict) -> list[str]:
    """Every problem of the local settings, one readable line each."""
    errors = []
    ports = {}
    # The HTTP port and the gateway's HTTP side exist only with HTTPS.
    for name in PORT_NAMES + (HTTPS_PORT_NAMES if settings.get("https") else ()):
        value = settings.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            errors.append(f"daskhub_local_{name}: must be a TCP port (1-65535), got {value!r}")
            continue
        if value in ports:
            errors.append(f"daskhub_local_{name}: port {value} is also daskhub_local_{ports[value]}")
        ports[value] = name
    try:
        ipaddress.ip_address(settings.get("bind_ip") or "")
    except ValueError:
        errors.append(f"daskhub_local_bind_ip: not an IP address: {settings.get('bind_ip')!r}")
    if settings.get("https") and not settings.get("https_host"):
        errors.append("daskhub_https_hosts: the local target's HTTPS needs the hub's host name first")
    prefix = settings.get("prefix") or ""
    if not os.path.isabs(os.path.expanduser(prefix)):
        errors.append(f"daskhub_local_prefix: must be an absolute path, got {prefix!r}")
    requested = settings.get("system_users_requested", settings.get("system_users"))
    # Ansible's own conversions: -e daskhub_local_system_users=false is a string.
    if str(requested).lower() not in ("auto", "true", "false", "yes", "no", "on", "off", "1", "0"):
        errors.append(f"daskhub_local_system_users: must be auto, true or false, got {requested!r}")
    if settings.get("system_users") and not settings.get("run_as_root"):
        errors.append("daskhub_local_system_users: true needs the play to run as root (become: true)")
    if settings.get("run_as_root") and not settings.get("system_users"):
        # The shared-uid mode never runs a notebook as root: as root it runs
        # the services, and so every notebook and cluster, as this account.
        problem = name_rules.account_problem(settings.get("service_user") or "", "daskhub_local_service_user")
        if problem:
            errors.append(
                "daskhub_local_service_user: the account the services run as in the shared-uid mode "
                f"(daskhub_local_system_users: false as root): {problem}"
            )
    return errors


def assert_settings(settings: dict) -> None:
    errors = check_settings(settings)
    if errors:
        raise LocalSettingsError("The local target settings are invalid:\n" + "\n".join(f"  - {e}" for e in errors))
