# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""dask-gateway-server's config on the local target: its settings are data, this file only loads them.

Installed into the prefix's etc/ by the role daskhub_local, beside:
- gateway-settings.json: the gateway's traits, the options' settings and
  the files below (plugins/module_utils/render/local/documents.py,
  gateway_document), readable;
- gateway-secrets.json (mode 0600): the hub API token (gateway_secret_document);
- daskhub_local_backends.py: the backend classes gateway-settings.json names;
- the files of plugins/files/gateway/ (the traits as data, the
  authenticator, the options handler), which this file runs in its own
  namespace, in the settings' order, as the dask-gateway chart runs them as
  gateway.extraConfig entries: one code for both targets.
Re-run the playbook instead of editing either document.
"""

# ruff: noqa: F821  `c` and `__file__` are given by traitlets

import json
import pathlib
import sys

DASKHUB_GATEWAY_SETTINGS = json.loads(pathlib.Path(__file__).with_name("gateway-settings.json").read_text())

# The classes the settings name (the backends) and the shared files are beside this one.
daskhub_classes_dir = pathlib.Path(DASKHUB_GATEWAY_SETTINGS["classes_dir"])
if str(daskhub_classes_dir) not in sys.path:
    sys.path.append(str(daskhub_classes_dir))

for daskhub_file in DASKHUB_GATEWAY_SETTINGS["files"]:
    daskhub_path = daskhub_classes_dir / daskhub_file
    # Our own installed file, run as the chart runs gateway.extraConfig: in this namespace.
    exec(compile(daskhub_path.read_text(), str(daskhub_path), "exec"), globals())  # noqa: S102

# daskhub_config_traits.py defines daskhub_apply_config.
daskhub_apply_config(c, json.loads(pathlib.Path(DASKHUB_GATEWAY_SETTINGS["secrets_file"]).read_text())["config"])
c.LocalBackend.db_encrypt_keys = [pathlib.Path(DASKHUB_GATEWAY_SETTINGS["db_encrypt_key_file"]).read_text().strip()]
