"""The site model's JupyterHub: authenticators, users, hub services and
roles, the traitlets config and the notebook servers' environment.

Both targets render from these pieces: render/kubernetes/values.py puts them
in the chart's hub.config, hub.services and hub.loadRoles, and
render/local/documents.py in the local jupyterhub_config.py's document.
The rules a model must follow are checked in validation/model.py.
"""

from __future__ import annotations

import urllib.parse

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


# The oauthenticator each hub runs, by the jupyterhub chart's major version
# (its hub image: 3.2.1 has 16.2.1, 4.4.0 has 17.4.0); the local target
# installs 17 (roles/daskhub_local, daskhub_local_versions.oauthenticator).
OAUTHENTICATOR_OF_CHART = {3: 16, 4: 17}
LOCAL_OAUTHENTICATOR = 17


def oauthenticator_major(jupyterhub_chart_version: str | None) -> int:
    """The oauthenticator major version of the hub: the chart's hub image's, or the local target's (None)."""
    if jupyterhub_chart_version is None:
        return LOCAL_OAUTHENTICATOR
    major = int(str(jupyterhub_chart_version).split(".", maxsplit=1)[0])
    return OAUTHENTICATOR_OF_CHART.get(major, LOCAL_OAUTHENTICATOR if major > 4 else 16)


def idp_manages_groups(model: dict, oauthenticator: int = LOCAL_OAUTHENTICATOR) -> bool:
    """Whether the identity provider owns JupyterHub group membership (a groups claim, oauthenticator 17)."""
    oauth = model.get("oauth") or {}
    return model.get("authenticator") == "generic-oauth" and bool(oauth.get("groups_claim")) and oauthenticator >= 17


def _oauth_groups(oauth: dict, oauthenticator: int) -> dict:
    """The groups settings of GenericOAuthenticator for the hub's oauthenticator.

    17 reads the groups from the auth state (the userinfo is kept under
    ``oauth_user``) and sets JupyterHub's groups at each login; its
    allowed_groups and admin_groups need manage_groups. 16 has only
    claim_groups_key, which decides login and admin and sets no group.
    """
    claim = oauth.get("groups_claim")
    if not claim:
        return {}
    settings = {
        "allowed_groups": sorted(_names(oauth.get("allowed_groups"))),
        "admin_groups": sorted(_names(oauth.get("admin_groups"))),
    }
    if oauthenticator >= 17:
        return {"manage_groups": True, "auth_state_groups_key": f"oauth_user.{claim}", **settings}
    return {"claim_groups_key": claim, **settings}


def hub_config(model: dict, gateway_version: str, oauthenticator: int = LOCAL_OAUTHENTICATOR) -> dict:
    """JupyterHub traitlets config without secrets (z2jh `hub.config`).

    ``oauthenticator``: the major version the hub runs (oauthenticator_major).
    """
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
        specific.update(_oauth_groups(oauth, oauthenticator))
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


def _user_sync_group_scopes(model: dict) -> list[str]:
    """Groups user sync manages (daskhub_user_sync_groups), or reads to protect the provider's members."""
    if model.get("manage_groups"):
        return ["list:groups", "admin:groups"]
    if model.get("authenticator") == "generic-oauth" and (model.get("oauth") or {}).get("groups_claim"):
        return ["list:groups", "read:groups"]
    return []


def hub_roles(model: dict, gateway_version: str) -> list[dict]:
    """JupyterHub roles: the user-sync service's, and gateway access for users."""
    roles = [
        {
            "name": USER_SYNC_SERVICE,
            "description": "Add and remove hub users from the site's user sources",
            "scopes": list(USER_SYNC_SCOPES) + _user_sync_group_scopes(model),
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


# JupyterLab's announcements plugin asks each user whether to fetch news from
# jupyterlab.github.io ("get notified about official Jupyter news?"), then
# checks for updates: the site decides that, not every user in turn. JupyterLab
# disables a plugin site-wide by page_config.json's disabledExtensions, read
# from the labconfig/ folder of every Jupyter configuration directory.
ANNOUNCEMENTS_PLUGIN = "@jupyterlab/apputils-extension:announcements"
# The Dask panel's server extension (plugins/files/notebook/): the user's
# gateway clusters listed in the panel, their dashboards through the user's
# server. Servers import it from a folder beside their Jupyter configuration.
NOTEBOOK_EXTENSION = "daskhub_dask_panel"
NOTEBOOK_EXTENSION_FILE = f"notebook/{NOTEBOOK_EXTENSION}.py"
NOTEBOOK_PYTHON_DIR = "daskhub-python"
# jupyter-server-proxy's own default: it proxies to no other host.
PROXY_HOSTS = ("localhost", "127.0.0.1")


def notebook_config_files(gateway_address: str) -> dict:
    """Jupyter configuration files of every user server: {path in a Jupyter config directory: JSON data}.

    ``gateway_address``: DASK_GATEWAY__ADDRESS of the servers, whose host
    serves the clusters' dashboards; the panel's server extension reaches
    them there through jupyter-server-proxy, which must allow that host. The
    local target writes the files under its prefix and names that directory
    in the servers' JUPYTER_CONFIG_PATH; Kubernetes mounts them under
    /etc/jupyter (singleuser.extraFiles), a directory Jupyter always reads.
    """
    host = urllib.parse.urlsplit(gateway_address).hostname
    return {
        "labconfig/page_config.json": {"disabledExtensions": {ANNOUNCEMENTS_PLUGIN: True}},
        "jupyter_server_config.d/daskhub.json": {
            "ServerApp": {"jpserver_extensions": {NOTEBOOK_EXTENSION: True}},
            "ServerProxy": {"host_allowlist": sorted({*PROXY_HOSTS, host} - {None})},
        },
    }


def notebook_python_files() -> dict:
    """The Python files servers import: {path in their Jupyter config directory: file of plugins/files/}."""
    return {f"{NOTEBOOK_PYTHON_DIR}/{NOTEBOOK_EXTENSION}.py": NOTEBOOK_EXTENSION_FILE}


def notebook_python_path(config_dir: str, environment: dict) -> str:
    """The servers' PYTHONPATH: the site's own (extra_env), then the folder of notebook_python_files."""
    ours = f"{config_dir.rstrip('/')}/{NOTEBOOK_PYTHON_DIR}"
    return ":".join(part for part in (environment.get("PYTHONPATH"), ours) if part)
