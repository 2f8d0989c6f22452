"""The site model's Dask Gateway: its hub service, prefix and scope, the
ClusterConfig limits and the options handler both targets load.

The Kubernetes values (render/kubernetes/values.py, gateway.extraConfig) and
the local target's dask_gateway_config.py (render/local/config_files.py)
take the options handler and the authenticator from here, so a site offers
the same choices whichever target it runs on.
"""

from __future__ import annotations

import textwrap

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


_HANDLER_TEMPLATE = """\
# Cluster options users may choose, rendered by daskhub.deploy from the site
# model. The same code runs on the kubernetes and the local target.
from dask_gateway_server.options import Float as _DaskhubFloat
from dask_gateway_server.options import Integer as _DaskhubInteger
from dask_gateway_server.options import Options as _DaskhubOptions
from dask_gateway_server.options import String as _DaskhubString
from traitlets.utils.importstring import import_item as _daskhub_import_item

_DASKHUB_GPUS = {gpus!r}


def _daskhub_image_has_tag(image):
    if "@sha256:" in image:
        return True
    name, sep, tag = image.rsplit("/", 1)[-1].partition(":")
    return bool(name and sep and tag)


def _daskhub_cluster_config_traits():
    # The local backend's ClusterConfig has no image or container settings;
    # drop what the running backend does not know instead of warning.
    backend = c.DaskGateway.backend_class
    if isinstance(backend, str):
        backend = _daskhub_import_item(backend)
    if not isinstance(backend, type):
        return None
    config_class = backend.class_traits()["cluster_config_class"].default()
    if isinstance(config_class, str):
        config_class = _daskhub_import_item(config_class)
    return set(config_class.class_trait_names(config=True))


def _daskhub_options_handler(options, user):
    image = options.image.strip()
    if not _daskhub_image_has_tag(image):
        raise ValueError("{tag_error}")
    memory = int(options.worker_memory * 2**30)
    overrides = {{
        "worker_cores": options.worker_cores,
        "worker_cores_limit": options.worker_cores,
        "worker_memory": memory,
        "worker_memory_limit": memory,
        "image": image,
    }}
    if _DASKHUB_GPUS and options.num_gpus:
        resources = {{_DASKHUB_GPUS: options.num_gpus}}
        overrides["worker_extra_container_config"] = {{
            "resources": {{"limits": resources, "requests": resources}},
        }}
    known = _daskhub_cluster_config_traits()
    if known is None:
        return overrides
    return {{key: value for key, value in overrides.items() if key in known}}


c.Backend.cluster_options = _DaskhubOptions(
{fields}
    handler=_daskhub_options_handler,
)
"""


def gateway_options_handler(model: dict) -> str:
    """Python source defining c.Backend.cluster_options for both targets."""
    gateway = model["gateway"]
    cores = gateway["worker_cores"]
    memory = gateway["worker_memory"]
    gpus = gateway.get("worker_gpus") or {}
    fields = [
        f'_DaskhubInteger("worker_cores", default={int(cores["default"])}, min={int(cores["min"])}, '
        f'max={int(cores["max"])}, label="Worker cores"),',
        f'_DaskhubFloat("worker_memory", default={float(memory["default"])}, min={float(memory["min"])}, '
        f'max={float(memory["max"])}, label="Worker memory (GiB)"),',
        f'_DaskhubString("image", default={worker_image(model)!r}, label="Image"),',
    ]
    if gpus.get("enabled"):
        fields.append(
            f'_DaskhubInteger("num_gpus", default={int(gpus["default"])}, min={int(gpus["min"])}, '
            f'max={int(gpus["max"])}, label="GPUs per worker"),'
        )
    return _HANDLER_TEMPLATE.format(
        gpus=gpus.get("resource") if gpus.get("enabled") else "",
        tag_error=IMAGE_TAG_ERROR,
        fields=textwrap.indent("\n".join(fields), "    "),
    )


# JupyterHub answers 403 to a token it does not know, and dask-gateway-server
# (2024.1.0 and 2026.3.0) turns that into a 500; users with a wrong or
# expired token must get 401. Both targets load this before the options handler.
_GATEWAY_AUTH_CODE = """\
from aiohttp import web as _daskhub_web
from dask_gateway_server.auth import JupyterHubAuthenticator as _DaskhubJupyterHubAuthenticator
from dask_gateway_server.auth import unauthorized as _daskhub_unauthorized


class DaskhubJupyterHubAuthenticator(_DaskhubJupyterHubAuthenticator):
    \"\"\"JupyterHubAuthenticator that answers 401, not 500, to a token the hub rejects.\"\"\"

    async def authenticate(self, request):
        try:
            return await super().authenticate(request)
        except _daskhub_web.HTTPInternalServerError as err:
            if err.reason == "Permission failure verifying user's JupyterHub API token":
                raise _daskhub_unauthorized("jupyterhub") from None
            raise


c.DaskGateway.authenticator_class = DaskhubJupyterHubAuthenticator

"""


def gateway_auth_code() -> str:
    """Python source replacing the gateway's JupyterHub authenticator (both targets)."""
    return _GATEWAY_AUTH_CODE
