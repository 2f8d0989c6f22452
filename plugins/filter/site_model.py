"""Filters over the site model: validation and the pieces both targets share."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation

# The collection root: roles/, playbooks/ and molecule/ (its scenarios'
# inventories and facts) are read for the variable names the project uses.
_COLLECTION = Path(__file__).resolve().parents[2]
_VARIABLE = re.compile(r"\bdaskhub_[a-z0-9_]+\b")


@functools.lru_cache(maxsize=1)
def project_variables() -> frozenset:
    """Every daskhub_* name the project uses: documented options, defaults, facts, registers."""
    names: set[str] = set()
    for folder in ("roles", "playbooks", "molecule"):
        for path in (_COLLECTION / folder).rglob("*.yml"):
            names.update(_VARIABLE.findall(path.read_text(encoding="utf-8")))
    site = _COLLECTION / "site.yml"
    if site.is_file():
        names.update(_VARIABLE.findall(site.read_text(encoding="utf-8")))
    return frozenset(names)


def site_model_errors(model, spec=None, values=None, defined=None, system_accounts=False, run_as_root=False):
    """Every problem of the model: with ``spec`` (the model role's argument_specs options) its inputs too."""
    inputs = {}
    if spec is not None:
        inputs = {
            "spec": spec,
            "values": values or {},
            "defined": defined or [],
            "known": project_variables(),
            "system_accounts": system_accounts,
            "run_as_root": run_as_root,
        }
    else:
        inputs = {"system_accounts": system_accounts, "run_as_root": run_as_root} if system_accounts else {}
    return model_validation.validate(model, inputs)


class FilterModule:
    """daskhub.deploy filters over the site model (one dict, daskhub_model)."""

    def filters(self):
        return {
            "site_model_errors": site_model_errors,
            "secret_names": model_secrets.secret_names,
            "image_has_tag": quantities.image_has_tag,
            "singleuser_image": quantities.singleuser_image,
            "worker_image": quantities.worker_image,
            "hub_config": hub_model.hub_config,
            "hub_url": hub_model.hub_url,
            "verify_user": hub_model.verify_user,
            "hub_secret_config": hub_model.hub_secret_config,
            "hub_services": hub_model.hub_services,
            "service_tokens": model_secrets.service_tokens,
            "hub_roles": hub_model.hub_roles,
            "gateway_options": gateway_model.gateway_options,
            "gateway_cluster_config": gateway_model.gateway_cluster_config,
            "user_environment": hub_model.user_environment,
        }
