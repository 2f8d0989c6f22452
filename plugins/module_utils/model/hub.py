"""The site model's JupyterHub: authenticators, users, hub services and
roles, the traitlets config and the notebook servers' environment.

Both targets render from these pieces: render/kubernetes/values.py puts them
in the chart's hub.config, hub.services and hub.loadRoles, and
render/local/documents.py in the local jupyterhub_config.py's document.
The rules a model must follow are checked in validation/model.py.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.model.cull import CULLER_SERVICE
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import (
    GATEWAY_SERVICE,
    gateway_access_scope,
    gateway_scoped_access,
)

AUTHENTICATORS = {
    # model name -> (entry point name for JupyterHub.authenticator_class, traitlets class)
    "dummy": ("dummy", "DummyAuthenticator"),
    "generic-oauth": ("generic-oauth", "GenericOAuthenticator"),
}
USER_SYNC_SERVICE = "user-sync"
# playbooks/verify.yml acts as one user through this service, which may only
# manage that user's tokens and server.
VERIFY_SERVICE = "daskhub-verify"
# The hub user it acts as unless daskhub_verify_user names another: a user of
# its own, never an admin, so a token it mints is no more than one ordinary
# user's, and no real user's files or servers are touched.
DEFAULT_VERIFY_USER = "daskhub-verify-user"
# The culler's name is z2jh's, whose chart defines it on Kubernetes.
RESERVED_SERVICES = (
    GATEWAY_SERVICE,
    USER_SYNC_SERVICE,
    VERIFY_SERVICE,
    CULLER_SERVICE,
    monitoring.PROMETHEUS_SERVICE,
    monitoring.EXPORTER_SERVICE,
)


def _names(value) -> list[str]:
    return [str(item) for item in (value or [])]


def allowed_users(model: dict) -> list[str]:
    """Every user the site lets in by name: daskhub_users and daskhub_admin_users, sorted."""
    return sorted(set(_names(model.get("users"))) | set(_names(model.get("admin_users"))))


def verify_user(model: dict) -> str:
    """The user verify.yml acts as: daskhub_verify_user, else the dedicated DEFAULT_VERIFY_USER."""
    return str(model.get("verify_user") or DEFAULT_VERIFY_USER)


def hub_config(model: dict, gateway_version: str) -> dict:
    """JupyterHub traitlets config without secrets (z2jh `hub.config`)."""
    entry_point, auth_class = AUTHENTICATORS[model["authenticator"]]
    # The verify user logs in like any user (playbooks/verify.yml starts its server).
    users = sorted(set(allowed_users(model)) | {verify_user(model)})
    authenticator = {
        "admin_users": sorted(_names(model.get("admin_users"))),
        "allowed_users": users,
        "blocked_users": sorted(_names(model.get("blocked_users"))),
        # JupyterHub 5 otherwise locks out users that user-sync added
        # through the API but that are not in allowed_users.
        "allow_existing_users": True,
        "allow_all": bool(model.get("allow_all_users")),
    }
    config = {
        "JupyterHub": {"authenticator_class": entry_point},
        "Authenticator": authenticator,
        "Spawner": {"server_token_scopes": server_token_scopes(gateway_version)},
    }
    specific = {}
    if model["authenticator"] == "generic-oauth":
        oauth = model["oauth"]
        specific = {
            "client_id": oauth["client_id"],
            "authorize_url": oauth["authorize_url"],
            "token_url": oauth["token_url"],
            "userdata_url": oauth["userdata_url"],
            "oauth_callback_url": oauth["callback_url"],
            # oauthenticator 16 renamed username_key to username_claim.
            "username_claim": oauth["username_key"],
            "scope": list(oauth.get("scopes") or []),
        }
        if oauth.get("login_service"):
            specific["login_service"] = oauth["login_service"]
    specific.update(model.get("authenticator_extra_config") or {})
    if specific:
        config[auth_class] = specific
    return config


def hub_secret_config(model: dict, secrets: dict) -> dict:
    """The secret part of the hub's traitlets config (goes to secret files only)."""
    if model["authenticator"] == "dummy":
        return {"DummyAuthenticator": {"password": secrets["dummy_password"]}}
    if model["authenticator"] == "generic-oauth":
        return {"GenericOAuthenticator": {"client_secret": secrets["oauth_client_secret"]}}
    return {}


def hub_url(model: dict, local_port: int = 8000) -> str:
    """The hub's public URL; empty when only the cluster can tell (a LoadBalancer IP not assigned yet)."""
    if model.get("hub_public_url"):
        return str(model["hub_public_url"]).rstrip("/")
    if model.get("target") == "local":
        if model.get("https_enabled") and model.get("https_hosts"):
            # The certificate's name, which must lead to this host.
            port = int(local_port)
            return f"https://{model['https_hosts'][0]}" + ("" if port == 443 else f":{port}")
        return f"http://127.0.0.1:{int(local_port)}"
    if model.get("https_enabled") and model.get("https_hosts"):
        return f"https://{model['https_hosts'][0]}"
    if model.get("proxy_load_balancer_ip"):
        return f"http://{model['proxy_load_balancer_ip']}"
    return ""


def manages_admins(model: dict) -> bool:
    """Whether user-sync changes admin flags (daskhub_user_sync_manage_admins)."""
    value = model.get("user_sync_manage_admins", bool(model.get("admin_users")))
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


def hub_services(model: dict, gateway_url: str | None, exporter: tuple | None = None) -> dict:
    """Hub services (name -> settings), without their tokens.

    ``exporter``: (command, settings) of the gateway exporter as the target
    runs it (model/monitoring.py); its services exist only with monitoring on.
    """
    services = {
        GATEWAY_SERVICE: {"display": False},
        # Only a hub admin may grant or revoke admin; user-sync gets that
        # role only when the site manages admins.
        USER_SYNC_SERVICE: {"admin": manages_admins(model)},
    }
    if gateway_url:
        services[GATEWAY_SERVICE]["url"] = gateway_url
    if verify_user(model):
        services[VERIFY_SERVICE] = {"display": False}
    for name, extra in sorted((model.get("hub_extra_services") or {}).items()):
        settings = {key: value for key, value in (extra or {}).items() if key in ("url", "display", "admin")}
        services[name] = settings
    command, settings = exporter or (None, None)
    services.update(monitoring.hub_services(model, command, settings))
    return services


USER_SYNC_SCOPES = ["list:users", "read:users", "admin:users"]
# JupyterHub's own `server` role (the same in 4.0 to 5.5): what
# jupyterhub-singleuser needs to let its user in and to report activity.
SERVER_TOKEN_BASE_SCOPES = ["access:servers!server", "users:activity!user"]


def server_token_scopes(gateway_version: str) -> list[str]:
    """Scopes of a notebook server's own JUPYTERHUB_API_TOKEN (Spawner.server_token_scopes).

    GatewayCluster() in a notebook authenticates with that token. A gateway
    that requires the access:services scope rejects the default server token
    (401), so the scope is requested here, and nothing more; JupyterHub grants
    only what the user holds (hub_roles gives every user this scope).
    """
    scopes = list(SERVER_TOKEN_BASE_SCOPES)
    if gateway_scoped_access(gateway_version):
        scopes.append(gateway_access_scope())
    return scopes


def hub_roles(model: dict, gateway_version: str) -> list[dict]:
    """JupyterHub roles: the user-sync service's, and gateway access for users."""
    roles = [
        {
            "name": USER_SYNC_SERVICE,
            "description": "Add and remove hub users from the site's user sources",
            "scopes": list(USER_SYNC_SCOPES) + (["list:groups", "admin:groups"] if model.get("manage_groups") else []),
            "services": [USER_SYNC_SERVICE],
        }
    ]
    if gateway_scoped_access(gateway_version):
        # The gateway then only accepts tokens with this scope; without it
        # any hub token could create clusters.
        roles.append(
            {
                "name": "user",
                "scopes": ["self", gateway_access_scope()],
            }
        )
    user = verify_user(model)
    if user:
        roles.append(
            {
                "name": VERIFY_SERVICE,
                "description": f"playbooks/verify.yml: the server of {user}, nothing else",
                # Start, stop and open that one server, as its user's browser
                # does; no token minting (a service cannot grant itself more).
                "scopes": [f"servers!user={user}", f"access:servers!user={user}", f"read:users:name!user={user}"],
                "services": [VERIFY_SERVICE],
            }
        )
    for name, extra in sorted((model.get("hub_extra_services") or {}).items()):
        scopes = list((extra or {}).get("scopes") or [])
        if scopes:
            roles.append({"name": f"service-{name}", "scopes": scopes, "services": [name]})
    roles.extend(monitoring.hub_roles(model))
    return roles


def user_environment(address: str, proxy_address: str, public_address: str) -> dict:
    """What single-user servers need so that GatewayCluster() works without arguments."""
    return {
        "DASK_GATEWAY__ADDRESS": address,
        "DASK_GATEWAY__PROXY_ADDRESS": proxy_address,
        "DASK_GATEWAY__PUBLIC_ADDRESS": public_address,
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }


# dask-labextension reads labextension.factory from dask config: without it
# the Dask panel's +NEW starts a LocalCluster inside the user's server.
LABEXTENSION_ENVIRONMENT = {
    "DASK_LABEXTENSION__FACTORY__MODULE": "dask_gateway",
    "DASK_LABEXTENSION__FACTORY__CLASS": "GatewayCluster",
}
# KubeSpawner sets JUPYTER_IMAGE_SPEC to the image the user's server runs
# (a profile's image included); the dask-gateway client fills in
# "{VARIABLE}" from the environment, and the options handler still checks it.
NOTEBOOK_IMAGE_OPTION = {"DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE": "{JUPYTER_IMAGE_SPEC}"}


def notebook_environment(model: dict, image_from_notebook: bool) -> dict:
    """What every target adds to user servers beyond the gateway addresses.

    ``image_from_notebook``: workers default to the notebook's own image
    (Kubernetes) unless the site names daskhub_gateway_worker_image; the local
    target runs workers in the notebooks' venv and has no images.
    """
    environment = dict(LABEXTENSION_ENVIRONMENT)
    if image_from_notebook and not (model.get("gateway") or {}).get("worker_image"):
        environment.update(NOTEBOOK_IMAGE_OPTION)
    return environment
