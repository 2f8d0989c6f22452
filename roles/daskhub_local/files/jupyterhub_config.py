# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""JupyterHub's config on the local target: its settings are data, this file only loads them.

Installed into the prefix's etc/ by the role daskhub_local, beside:
- hub-settings.json: the hub's traits, services and classes folder
  (plugins/module_utils/render/local/documents.py, hub_document), readable;
- hub-secrets.json (mode 0600): the secret traits and the services' tokens
  (hub_secret_document);
- daskhub_spawners.py: the spawner classes hub-settings.json names.
Re-run the playbook instead of editing either document.
"""

# ruff: noqa: F821  `c` and `__file__` are given by traitlets

import json
import pathlib
import sys

daskhub_settings = json.loads(pathlib.Path(__file__).with_name("hub-settings.json").read_text())
daskhub_secrets = json.loads(pathlib.Path(daskhub_settings["secrets_file"]).read_text())

# The classes the settings name (the spawners) are files of the role beside this one.
if daskhub_settings["classes_dir"] not in sys.path:
    sys.path.append(daskhub_settings["classes_dir"])

for daskhub_document in (daskhub_settings, daskhub_secrets):
    for daskhub_section, daskhub_traits in daskhub_document.get("config", {}).items():
        for daskhub_trait, daskhub_value in daskhub_traits.items():
            c[daskhub_section][daskhub_trait] = daskhub_value

daskhub_tokens = daskhub_secrets.get("service_tokens", {})
c.JupyterHub.services = [
    dict(service, api_token=daskhub_tokens[service["name"]]) if service["name"] in daskhub_tokens else service
    for service in daskhub_settings.get("services", [])
]
