# The hub pod's config on one host: the chart's own jupyterhub_config.py,
# unmodified, then only what needs a cluster replaced. Loaded by
# `jupyterhub --config` inside the pod's mount namespace (support.chart_boot);
# DASKHUB_BOOT_SETTINGS names a JSON file of this boot's addresses.
# ruff: noqa: F821  `c` and `load_subconfig` are given by traitlets
import json
import os
import re
import sys

_boot = json.loads(open(os.environ["DASKHUB_BOOT_SETTINGS"]).read())  # noqa: SIM115
load_subconfig(_boot["chart_config"])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _cluster_dns import resolve  # noqa: E402

# KubeSpawner -> a local process that gets the environment KubeSpawner would
# give the pod (addresses resolved as cluster DNS would), running the
# single-user image's stack.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
_environment = {key: resolve(str(value), _boot["network"]) for key, value in c.KubeSpawner.environment.items()}
# KubeSpawner.get_env adds the image the pod runs.
if "image" in c.KubeSpawner:
    _environment.setdefault("JUPYTER_IMAGE_SPEC", c.KubeSpawner.image)
    _environment.setdefault("JUPYTER_IMAGE", c.KubeSpawner.image)
_environment["PATH"] = _boot["singleuser_bin"] + ":/usr/bin:/bin"
c.Spawner.environment = _environment
if "start_timeout" in c.KubeSpawner:
    c.Spawner.start_timeout = c.KubeSpawner.start_timeout
# A pod's start (scheduling, the image) is KubeSpawner's start_timeout, and
# the wait for its server's HTTP (http_timeout, 30 s) comes after. Here the
# process starts at once and its server's start is all the wait: on a loaded
# machine it outlasted 30 s, and the spawn failed.
c.Spawner.http_timeout = c.Spawner.start_timeout
# The pod runs as uid 1000; here the spawned server runs as root.
c.Spawner.args = [*c.Spawner.get("args", []), "--allow-root"]
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(_boot["home"], "{username}")
# Pods outlive a hub restart; local processes would be orphaned.
c.JupyterHub.cleanup_servers = True

# The pod's listening address (http://:8081) -> loopback and this boot's port;
# the proxy's and the hub's Service addresses come from the Service env vars.
c.JupyterHub.hub_bind_url = _boot["hub_bind_url"]
c.JupyterHub.bind_url = _boot["public_url"]


def _pod_local(text):
    """http://localhost:<container port> of the hub pod itself -> this boot's port."""
    for port, local in _boot["pod_ports"].items():
        text = re.sub(rf"(localhost|127\.0\.0\.1):{port}\b", f"127.0.0.1:{local}", text)
    return text


for _service in c.JupyterHub.services:
    if _service.get("url"):
        _service["url"] = resolve(_service["url"], _boot["network"])
    if _service.get("command"):
        _service["command"] = [_pod_local(part) for part in _service["command"]]
