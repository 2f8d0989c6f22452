"""The site model's Dask Gateway: its hub service, prefix and scope, the
ClusterConfig limits and the settings of the options handler both targets load.

The gateway's own code, the options handler and the authenticator, is real
files in plugins/files/gateway/ that read their settings as data; this
module names them (GATEWAY_CONFIG_FILES) and renders their settings
(gateway_settings). The Kubernetes values (render/kubernetes/values.py,
gateway.extraConfig) and the local target's gateway document
(render/local/documents.py) both take them from here, so a site offers the
same choices whichever target it runs on.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import user_data
from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import (
    IMAGE_TAG_ERROR,
    _as_number,
    parse_quantity,
    version_tuple,
    worker_image,
)

GATEWAY_SERVICE = "dask-gateway"
# Where the hub serves the gateway (a hub service), on both targets.
GATEWAY_PREFIX = f"/services/{GATEWAY_SERVICE}"
# dask-gateway 2026.3.0 is the first release whose JupyterHub authenticator
# can require the access:services scope (jupyterhub_service_name).
GATEWAY_SCOPED_ACCESS_VERSION = (2026, 3, 0)


def gateway_scoped_access(gateway_version: str) -> bool:
    return version_tuple(gateway_version) >= GATEWAY_SCOPED_ACCESS_VERSION


def gateway_access_scope() -> str:
    return f"access:services!service={GATEWAY_SERVICE}"


def gateway_cluster_config(model: dict) -> dict:
    """ClusterConfig traits both targets set (c.ClusterConfig.<trait>)."""
    gateway = model["gateway"]
    config = {
        "idle_timeout": float(gateway["idle_timeout"]),
        "scheduler_cores": float(gateway["scheduler_cores"]["request"]),
        "scheduler_memory": int(parse_quantity(gateway["scheduler_memory"]["request"])),
    }
    for key in ("cluster_max_cores", "cluster_max_workers"):
        if gateway.get(key) is not None:
            config[key] = _as_number(gateway[key])
    if gateway.get("cluster_max_memory") is not None:
        config["cluster_max_memory"] = int(parse_quantity(gateway["cluster_max_memory"]))
    return config


# The files of plugins/files/gateway/ both targets run as part of the
# gateway's config, in this order, after DASKHUB_GATEWAY_SETTINGS is defined
# (gateway_settings): on Kubernetes as gateway.extraConfig entries, locally
# from the role daskhub_local's dask_gateway_config.py.
GATEWAY_CONFIG_FILES = (
    "daskhub_config_traits.py",
    "daskhub_authenticator.py",
    "daskhub_options_handler.py",
)


def gateway_options(model: dict) -> dict:
    """The options handler's settings (plugins/files/gateway/daskhub_options_handler.py), both targets."""
    gateway = model["gateway"]
    cores = gateway["worker_cores"]
    memory = gateway["worker_memory"]
    gpus = gateway.get("worker_gpus") or {}
    return {
        "worker_cores": {key: int(cores[key]) for key in ("default", "min", "max")},
        "worker_memory": {key: float(memory[key]) for key in ("default", "min", "max")},
        "image": worker_image(model),
        "gpus": (
            dict({key: int(gpus[key]) for key in ("default", "min", "max")}, resource=gpus.get("resource"))
            if gpus.get("enabled")
            else None
        ),
        "image_tag_error": IMAGE_TAG_ERROR,
        "volumes": user_data.volume_settings(model),
        # Per hub group, the most a member may ask for (worker_memory in GiB).
        "group_limits": {
            str(group): {key: _as_number(value) for key, value in (bounds or {}).items() if value is not None}
            for group, bounds in sorted((gateway.get("group_limits") or {}).items())
        },
    }


def gateway_settings(model: dict, config: dict) -> dict:
    """DASKHUB_GATEWAY_SETTINGS: the traits set as data (``config``) and the options' settings."""
    return {"config": config, "options": gateway_options(model)}
