# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The profiles each user is offered: those of the site without groups, and those of one of her hub groups.

Kubernetes only (the local target has no profiles). Part of the hub's
config as a hub.extraConfig entry, which z2jh's jupyterhub_config.py runs
last, after it set c.KubeSpawner.profile_list from singleuser.profileList;
reads which groups each profile is for as data, the values' custom
daskhubProfileGroups ({display_name: [groups]}), which
plugins/module_utils/render/kubernetes/profiles.py renders from the site
model (daskhub_singleuser_profiles[].groups).
"""

# ruff: noqa: F821  `c` and `get_config` are the chart's config's globals


def daskhub_profiles_for(profiles: list, groups_of: dict, user_groups) -> list:
    """The profiles offered to a member of ``user_groups``: those for no group, and those for one of hers."""
    mine = set(user_groups)
    return [
        profile
        for profile in profiles
        if not groups_of.get(profile.get("display_name")) or mine & set(groups_of[profile["display_name"]])
    ]


def daskhub_profile_list(profiles: list, groups_of: dict):
    """KubeSpawner.profile_list as a callable: KubeSpawner calls it with the spawner, for the spawner's user."""

    def profile_list(spawner):
        return daskhub_profiles_for(profiles, groups_of, [group.name for group in spawner.user.groups])

    return profile_list


if "c" in globals():  # run as config (z2jh's extraConfig), not imported
    DASKHUB_PROFILE_GROUPS = get_config("custom.daskhubProfileGroups", {})
    if DASKHUB_PROFILE_GROUPS and c.KubeSpawner.profile_list:
        c.KubeSpawner.profile_list = daskhub_profile_list(list(c.KubeSpawner.profile_list), DASKHUB_PROFILE_GROUPS)
