"""The spawn form KubeSpawner renders for a user in some hub groups, run in a hub image's Python (chart_envs).

Run as a script by that environment's interpreter: stdin is the rendered
jupyterhub values (a dict, as JSON), argv the users' groups (one argument
per user, groups separated by commas). It sets c.KubeSpawner.profile_list
from singleuser.profileList and runs the hub.extraConfig entries as z2jh's
jupyterhub_config.py does (with its get_config over the values), then
prints {groups: the options form's HTML} of a KubeSpawner for each user.
KubeSpawner reads a kubeconfig when it is made (KUBECONFIG: an unreachable
one will do) and asks no cluster to render its form.
"""

import asyncio
import json
import sys
from types import SimpleNamespace

from kubespawner import KubeSpawner
from traitlets.config import Config

VALUES = json.loads(sys.stdin.read())


def get_config(key, default=None):
    """z2jh's get_config over VALUES."""
    node = VALUES
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


async def forms(config, users):
    rendered = {}
    for groups in users:
        user = SimpleNamespace(
            name="user", id=1, url="/user/user/", groups=[SimpleNamespace(name=g) for g in groups.split(",") if g]
        )
        spawner = KubeSpawner(config=config, user=user, _mock=True)
        form = spawner.options_form
        rendered[groups] = await form(spawner) if callable(form) else form
    return rendered


if __name__ == "__main__":
    c = Config()
    c.KubeSpawner.profile_list = VALUES["singleuser"]["profileList"]
    namespace = {"c": c, "get_config": get_config}
    for key, entry in sorted(VALUES["hub"].get("extraConfig", {}).items()):
        exec(compile(entry, f"hub.extraConfig.{key}", "exec"), namespace)  # noqa: S102  the rendered values
    print(json.dumps(asyncio.run(forms(c, sys.argv[1:]))))
