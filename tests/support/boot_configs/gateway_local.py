# The gateway pod's config on one host: the chart's own dask_gateway_config.py
# (from the templated ConfigMap, at its mount path), then the local backend in
# place of KubeBackend and loopback addresses in place of the pod's and the
# Services'. Loaded by `dask-gateway-server --config` inside the pod's mount
# namespace (support.chart_boot); DASKHUB_BOOT_SETTINGS names a JSON file.
# ruff: noqa: F821  `c` and `load_subconfig` are given by traitlets
import json
import os
import sys

_boot = json.loads(open(os.environ["DASKHUB_BOOT_SETTINGS"]).read())  # noqa: SIM115
load_subconfig(_boot["chart_config"])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _cluster_dns import resolve  # noqa: E402
from dask_gateway_server.backends.base import ClusterConfig  # noqa: E402

c.DaskGateway.address = _boot["address"]
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
# What the chart sets on KubeClusterConfig and a local cluster has too
# (cores, memory, threads, environment); pod-only settings stay behind.
_shared = set(ClusterConfig.class_trait_names()) - {"adaptive_period", "cluster_max_cores"}
for _trait, _value in c.KubeClusterConfig.items():
    if _trait in _shared and _trait not in c.ClusterConfig:
        setattr(c.ClusterConfig, _trait, _value)
# The worker image is the single-user image: its `dask` runs schedulers and workers.
c.ClusterConfig.scheduler_cmd = [_boot["dask"], "scheduler"]
c.ClusterConfig.worker_cmd = [_boot["dask"], "worker"]
c.UnsafeLocalBackend.clusters_directory = _boot["clusters_directory"]
# The traefik pod's part: the gateway's built-in proxy on the traefik Service's port.
c.Proxy.address = _boot["proxy_address"]
c.Proxy.prefix = _boot["prefix"]
if "jupyterhub_api_url" in c.JupyterHubAuthenticator:
    c.JupyterHubAuthenticator.jupyterhub_api_url = resolve(
        c.JupyterHubAuthenticator.jupyterhub_api_url, _boot["network"]
    )
