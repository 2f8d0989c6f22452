"""Filters over the site model: building it, its validation and the pieces both targets share."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.model import variables as site_variables
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation


def site_model_errors(
    model, values=None, defined=None, system_accounts=False, run_as_root=False, local_hub_port=None, local_bind_ip=None
):
    """Every problem of the model; with ``values`` (lookup daskhub.deploy.site_variables) its inputs too.

    ``defined``: every daskhub_* name the play has, checked against the names
    the project declares (roles/daskhub_model/meta/variables.yml).
    ``local_hub_port``: the local target's hub port (daskhub_local_hub_port),
    part of its public URL when daskhub_hub_public_url is empty.
    ``local_bind_ip``: the local target's daskhub_local_bind_ip, for the
    public site's rules (validation/public_site.py).
    """
    inputs = {}
    if values is not None:
        inputs = {
            "spec": site_variables.model_spec(),
            "values": values,
            "defined": defined or [],
            "known": site_variables.known_variables(),
            "system_accounts": system_accounts,
            "run_as_root": run_as_root,
        }
    elif system_accounts:
        inputs = {"system_accounts": system_accounts, "run_as_root": run_as_root}
    if local_hub_port is not None:
        inputs = dict(inputs, local_hub_port=local_hub_port)
    if local_bind_ip is not None:
        inputs = {**inputs, "local_bind_ip": str(local_bind_ip)}
    return model_validation.validate(model, inputs)


class FilterModule:
    """daskhub.deploy filters over the site model (one dict, daskhub_model)."""

    def filters(self):
        return {
            "site_model": site_variables.build_model,
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
