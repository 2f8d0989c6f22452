"""Filters over the site model: validation and the pieces both targets share."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils import site_model


class FilterModule:
    """daskhub.deploy filters over the site model (one dict, daskhub_model)."""

    def filters(self):
        return {
            "site_model_errors": site_model.validate,
            "secret_names": site_model.secret_names,
            "image_has_tag": site_model.image_has_tag,
            "singleuser_image": site_model.singleuser_image,
            "worker_image": site_model.worker_image,
            "hub_config": site_model.hub_config,
            "hub_url": site_model.hub_url,
            "verify_user": site_model.verify_user,
            "hub_secret_config": site_model.hub_secret_config,
            "hub_services": site_model.hub_services,
            "service_tokens": site_model.service_tokens,
            "hub_roles": site_model.hub_roles,
            "gateway_options_handler": site_model.gateway_options_handler,
            "gateway_cluster_config": site_model.gateway_cluster_config,
            "user_environment": site_model.user_environment,
        }
