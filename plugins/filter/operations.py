"""Filters of the day-2 playbooks (rotate-secrets.yml, uninstall.yml, backup.yml, the *-schedule.yml)."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import operations, schedules
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import releases as helm_releases
from ansible_collections.daskhub.deploy.plugins.module_utils.state import backups


def _cron_errors(expression, variable="daskhub_backup_schedule"):
    """[] for a valid cron expression, else the one message naming ``variable``."""
    try:
        backups.cron_fields(expression, variable)
    except ValueError as err:
        return [str(err)]
    return []


def _account_entry(name, passwd):
    """{name, uid} of an account, from ansible.builtin.getent's passwd facts (uid None when gone)."""
    entry = (passwd or {}).get(name) or []
    return {"name": name, "uid": int(entry[1]) if len(entry) > 1 and str(entry[1]).isdigit() else None}


def _release_names(model):
    """The site's Helm releases, in the order to remove them (reverse of install)."""
    return [release["name"] for release in reversed(helm_releases.releases(model))]


class FilterModule:
    """daskhub.deploy filters of the operations playbooks."""

    def filters(self):
        return {
            "daskhub_names": operations.parse_names,
            "daskhub_rotation_errors": operations.rotation_errors,
            "daskhub_rotated_service_tokens": operations.rotated_service_tokens,
            "daskhub_rotation_impact": operations.rotation_impact,
            "daskhub_release_names": _release_names,
            "daskhub_timestamp": lambda _ignored=None: operations.timestamp(),
            "daskhub_backup_name": backups.backup_name,
            "daskhub_cron_fields": backups.cron_fields,
            "daskhub_cron_errors": _cron_errors,
            "daskhub_schedule": schedules.schedule,
            "daskhub_account_entry": _account_entry,
        }
