"""Per-group profiles on Kubernetes: which profiles each hub group is offered.

A profile with ``groups`` (daskhub_singleuser_profiles[].groups) is offered
only to members of one of them. KubeSpawner has no such setting: the hub
runs plugins/files/hub/daskhub_profiles.py as a hub.extraConfig entry, which
wraps the chart's profile_list in a callable of the user's groups, and reads
which groups each profile is for as data, the values' custom
daskhubProfileGroups. The groups are the hub's (the identity provider's with
daskhub_oauth_groups_claim, or user sync's).
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.render import files as service_files

PROFILES_FILE = "hub/daskhub_profiles.py"
EXTRA_CONFIG_KEY = "daskhub-profiles"
CUSTOM_KEY = "daskhubProfileGroups"


def profile_groups(model: dict) -> dict:
    """{display_name: [groups]} of the profiles offered to some groups only."""
    profiles = (model.get("singleuser") or {}).get("profiles") or []
    return {
        str(profile["display_name"]): sorted(str(group) for group in profile["groups"])
        for profile in profiles
        if profile.get("groups")
    }


def hub_values(model: dict, files_dir: str | None = None) -> dict:
    """What the jupyterhub values add for per-group profiles; nothing when no profile names groups."""
    groups = profile_groups(model)
    if not groups:
        return {}
    return {
        "custom": {CUSTOM_KEY: groups},
        "hub": {"extraConfig": {EXTRA_CONFIG_KEY: service_files.read(PROFILES_FILE, files_dir)}},
    }
