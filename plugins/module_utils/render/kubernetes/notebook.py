"""What user pods get beside their environment: the Jupyter configuration and the Dask panel's extension.

The same files as the local target's etc/jupyter/ (model/hub.py), as
singleuser.extraFiles of the jupyterhub chart, mounted under /etc/jupyter.
"""

from __future__ import annotations

import re

from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.render import files as service_files
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.releases import (
    gateway_internal_address,
)

# Jupyter always reads this directory (its system configuration directory).
CONFIG_DIR = "/etc/jupyter"


def extra_files(model: dict, files_dir: str | None = None) -> dict:
    """singleuser.extraFiles: the servers' Jupyter configuration and the panel's extension under CONFIG_DIR."""
    files = {
        relative: {"data": data}
        for relative, data in hub_model.notebook_config_files(gateway_internal_address(model)).items()
    }
    for relative, name in hub_model.notebook_python_files().items():
        files[relative] = {"stringData": service_files.read(name, files_dir)}
    # The chart keeps the files in a Secret: its keys allow letters, digits, "-", "_" and ".".
    return {
        "daskhub-" + re.sub(r"[^-._a-zA-Z0-9]", "-", path): dict(file, mountPath=f"{CONFIG_DIR}/{path}")
        for path, file in sorted(files.items())
    }
