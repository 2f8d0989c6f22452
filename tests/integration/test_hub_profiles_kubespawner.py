"""Per-group profiles in each hub image's own KubeSpawner (jupyterhub 3.2.1's 6.2.0, 4.4.0's 7.0.0).

The rendered values' profile list and extraConfig entry
(plugins/files/hub/daskhub_profiles.py), run as z2jh runs them in the hub
image's Python (support/kubespawner_form.py): the spawn form a user sees
offers the GPU profile only to a member of physics.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from support import chart_envs
from support.kubeconfig import unreachable_kubeconfig
from support.kubernetes_site import hub_section, render

FORM_SCRIPT = chart_envs.REPO / "tests" / "support" / "kubespawner_form.py"
PROFILES = [{"display_name": "Small", "default": True}, {"display_name": "GPU on A100", "groups": ["physics"]}]


@pytest.mark.parametrize("hub_chart", sorted(chart_envs.HUB_IMAGE_PYTHON))
def test_the_spawn_form_offers_each_user_the_profiles_of_her_groups(hub_chart, tmp_path):
    try:
        python = chart_envs.hub_env(hub_chart) / "bin" / "python"
    except chart_envs.EnvUnavailable as missing:
        pytest.skip(str(missing))
    _, _, rendered = render("example-site", daskhub_singleuser_profiles=PROFILES)
    kubeconfig = unreachable_kubeconfig(tmp_path / "kubeconfig", ["hub"], "hub")
    done = subprocess.run(
        [str(python), str(FORM_SCRIPT), "", "students", "physics", "students,physics"],
        input=json.dumps(hub_section(rendered)),
        capture_output=True,
        text=True,
        env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    forms = json.loads(done.stdout)
    offered = {
        groups: [p["display_name"] for p in PROFILES if p["display_name"] in form] for groups, form in forms.items()
    }
    assert offered == {
        "": ["Small"],
        "students": ["Small"],
        "physics": ["Small", "GPU on A100"],
        "students,physics": ["Small", "GPU on A100"],
    }
