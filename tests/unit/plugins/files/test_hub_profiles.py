"""Per-group profiles on Kubernetes: the hub.extraConfig file (plugins/files/hub/daskhub_profiles.py) and its values.

The rendered extraConfig entry runs as z2jh's jupyterhub_config.py runs it:
after the chart set c.KubeSpawner.profile_list, with the chart's
get_config reading the rendered values.
"""

from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import profiles as k8s_profiles
from support import service_files
from support.kubernetes_site import hub_section, render
from traitlets.config import Config

PROFILES = [
    {"display_name": "Small", "default": True},
    {"display_name": "GPU", "image": "org/gpu:1", "groups": ["physics", "gpu-users"]},
    {"display_name": "Big memory", "mem_limit": "64G", "groups": ["power"]},
]


def _get_config(values: dict):
    """z2jh's get_config over the rendered values ("custom.daskhubProfileGroups")."""

    def get_config(key, default=None):
        node = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    return get_config


def _offered(profile_list, *groups):
    spawner = SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name=group) for group in groups]))
    return [profile["display_name"] for profile in profile_list(spawner)]


def test_each_user_is_offered_the_profiles_of_her_groups():
    _, _, rendered = render("example-site", daskhub_singleuser_profiles=PROFILES)
    values = hub_section(rendered)
    assert values["custom"] == {"daskhubProfileGroups": {"Big memory": ["power"], "GPU": ["gpu-users", "physics"]}}
    # The chart's profile list, which z2jh sets before it runs the extraConfig entries.
    chart_profiles = values["singleuser"]["profileList"]
    assert all("groups" not in profile for profile in chart_profiles)
    config = Config()
    config.KubeSpawner.profile_list = chart_profiles
    entry = values["hub"]["extraConfig"][k8s_profiles.EXTRA_CONFIG_KEY]
    exec(compile(entry, "hub.extraConfig", "exec"), {"c": config, "get_config": _get_config(values)})  # noqa: S102
    profile_list = config.KubeSpawner.profile_list
    assert _offered(profile_list) == ["Small"]
    assert _offered(profile_list, "physics") == ["Small", "GPU"]
    assert _offered(profile_list, "power", "gpu-users") == ["Small", "GPU", "Big memory"]


def test_without_groups_the_chart_keeps_its_plain_profile_list():
    _, _, rendered = render("example-site", daskhub_singleuser_profiles=[{"display_name": "Small"}])
    values = hub_section(rendered)
    assert "custom" not in values
    assert k8s_profiles.EXTRA_CONFIG_KEY not in (values["hub"].get("extraConfig") or {})


def test_imported_the_file_leaves_the_config_alone():
    module = service_files.import_file(service_files.SHARED / "hub" / "daskhub_profiles.py")
    assert "c" not in vars(module) and "DASKHUB_PROFILE_GROUPS" not in vars(module)
