"""Filters of the day-2 playbooks (rotate-secrets.yml, uninstall.yml)."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import operations
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import releases as helm_releases


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
        }
