"""The names of the secrets a site needs, and which hub service's token is which.

The store itself is state/secrets_store.py; operations.py rotates them.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import cull as cull_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_SERVICE
from ansible_collections.daskhub.deploy.plugins.module_utils.model.hub import (
    USER_SYNC_SERVICE,
    VERIFY_SERVICE,
    verify_user,
)


def service_secret_name(service: str) -> str:
    return f"service_{service.replace('-', '_')}_api_token"


def service_token_secrets(model: dict) -> dict:
    """{hub service name: name of the secret holding its token}."""
    mapping = {GATEWAY_SERVICE: "dask_gateway_api_token", USER_SYNC_SERVICE: "user_sync_api_token"}
    if verify_user(model):
        mapping[VERIFY_SERVICE] = service_secret_name(VERIFY_SERVICE)
    if monitoring.enabled(model):
        for name in (monitoring.PROMETHEUS_SERVICE, monitoring.EXPORTER_SERVICE):
            mapping[name] = service_secret_name(name)
    if model.get("target") == "local" and cull_model.enabled(model):
        # The local hub hands the store's token to the culler it runs; on
        # Kubernetes the chart's culler has the hub's own (model/cull.py).
        mapping[cull_model.CULLER_SERVICE] = service_secret_name(cull_model.CULLER_SERVICE)
    for name in sorted(model.get("hub_extra_services") or {}):
        mapping[name] = service_secret_name(name)
    return mapping


def secret_names(model: dict) -> list[str]:
    """Names of the secrets this site needs.

    All are generated into the store, except the OAuth client secret, which
    the operator provides (validate() insists on it for generic-oauth); the
    secrets role passes it through without storing it.
    """
    names = ["proxy_secret_token", "cookie_secret"]
    if model.get("authenticator") == "dummy":
        names.append("dummy_password")
    if model.get("authenticator") == "generic-oauth":
        names.append("oauth_client_secret")
    names.extend(service_token_secrets(model).values())
    return names


def service_tokens(model: dict, secrets: dict) -> dict:
    return {service: secrets[secret] for service, secret in service_token_secrets(model).items()}
