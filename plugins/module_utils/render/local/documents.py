"""The documents the local target's jupyterhub_config.py and
dask_gateway_config.py (roles/daskhub_local/files/) load: the settings in
hub-settings.json and gateway-settings.json, the secrets in 0600 files.

Every piece the Kubernetes target also renders (hub traitlets, services,
roles, the user environment, the ClusterConfig traits) comes from model/,
so the two targets cannot drift; this module only adds what is specific to
running the processes on one host.
"""

from __future__ import annotations

import copy
import json
import os

from ansible_collections.daskhub.deploy.plugins.module_utils.host import accounts as host_accounts
from ansible_collections.daskhub.deploy.plugins.module_utils.model import cull as cull_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX
from ansible_collections.daskhub.deploy.plugins.module_utils.render import files as service_files
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.addresses import (
    gateway_addresses,
    gateway_http_url,
    gateway_service_url,
    https,
    hub_bind_url,
    public_url,
    url_host,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.monitoring import exporter as local_exporter
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.paths import (
    BACKENDS_MODULE,
    SPAWNERS_MODULE,
    paths,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.local_settings import assert_settings

SIMPLE_SPAWNER = f"{SPAWNERS_MODULE}.DaskhubSimpleLocalProcessSpawner"
SYSTEM_SPAWNER = f"{SPAWNERS_MODULE}.DaskhubLocalProcessSpawner"
UNSAFE_BACKEND = f"{BACKENDS_MODULE}.DaskhubUnsafeLocalBackend"
SYSTEM_BACKEND = f"{BACKENDS_MODULE}.DaskhubLocalBackend"
# distributed no longer installs dask-scheduler / dask-worker.
SCHEDULER_CMD = ["dask", "scheduler"]
# The local backends start schedulers on 127.0.0.1 (their default_host) but
# pass workers no --host, so a worker and its nanny would listen on every
# address; clients reach clusters only through the gateway's proxy.
CLUSTER_HOST = "127.0.0.1"
WORKER_CMD = ["dask", "worker", "--host", CLUSTER_HOST]


def hub_document(model: dict, settings: dict) -> dict:
    """hub-settings.json, what jupyterhub_config.py loads (no secrets)."""
    assert_settings(settings)
    p = paths(settings["prefix"])
    singleuser = model.get("singleuser") or {}
    config = copy.deepcopy(hub_model.hub_config(model, settings["gateway_version"]))
    addresses = gateway_addresses(model, settings)
    environment = dict(singleuser.get("extra_env") or {})
    environment.update(
        hub_model.user_environment(addresses["address"], addresses["proxy_address"], addresses["public_address"])
    )
    environment.update(hub_model.notebook_environment(model, image_from_notebook=False))
    # Jupyter reads configuration from this directory too, and Python the panel's extension (notebook_files).
    environment["JUPYTER_CONFIG_PATH"] = p["jupyter_config"]
    environment["PYTHONPATH"] = hub_model.notebook_python_path(p["jupyter_config"], environment)
    if https(settings) and settings.get("site_ca"):
        # A private CA signs the hub's certificate: the users' servers and
        # kernels (the Dask panel fetching a dashboard, a client of the hub)
        # trust it through OpenSSL's default file; its default directory
        # keeps the system's CAs.
        environment["SSL_CERT_FILE"] = p["site_ca"]
    system_users = bool(settings.get("system_users"))
    hub = config.setdefault("JupyterHub", {})
    hub.update(
        {
            "bind_url": f"http://{url_host(settings['bind_ip'])}:{settings['hub_port']}",
            "hub_bind_url": hub_bind_url(settings),
            "db_url": f"sqlite:///{p['hub_db']}",
            # A pin change across a schema change (4.x to 5.x) would otherwise
            # stop the hub at start; JupyterHub copies the sqlite file first.
            "upgrade_db": True,
            "spawner_class": SYSTEM_SPAWNER if system_users else SIMPLE_SPAWNER,
            "load_roles": hub_model.hub_roles(model, settings["gateway_version"]),
            # The hub's proxy is its child; under a supervisor a restarted hub
            # finds the old one through the pid file and replaces it.
            "cleanup_proxy": True,
            # Users' servers outlive a hub restart (a config change, an
            # upgrade, a rotation), as on Kubernetes: the spawners start them
            # in sessions of their own and the hub finds them again by pid.
            "cleanup_servers": False,
        }
    )
    config["ConfigurableHTTPProxy"] = {
        "api_url": f"http://127.0.0.1:{settings['proxy_api_port']}",
        "command": [p["chp"]],
        "pid_file": p["proxy_pid"],
    }
    if https(settings):
        # The hub hands them to its proxy (--ssl-cert, --ssl-key), which
        # reads them as it starts: a renewed certificate restarts the hub.
        hub.update({"bind_url": f"https://{url_host(settings['bind_ip'])}:{settings['hub_port']}"})
        hub.update({"ssl_cert": p["tls_cert"], "ssl_key": p["tls_key"]})
    start_timeout = int(singleuser.get("start_timeout") or 60)
    spawner = {
        "cmd": [os.path.join(p["venv_bin"], "jupyterhub-singleuser")],
        "environment": environment,
        "default_url": singleuser.get("default_url") or "/lab",
        "start_timeout": start_timeout,
        # A local process spawner's start returns as soon as the process runs:
        # the wait for its HTTP is the whole start, and a loaded host may take
        # over a minute for it. The same limit as a pod's start on Kubernetes.
        "http_timeout": start_timeout,
    }
    config.setdefault("Spawner", {}).update(spawner)
    # Both spawner classes read this section (the simple one subclasses the other).
    # first_uid: the host's UID_MIN (local_preflight reads it); no server runs below it.
    config["DaskhubLocalProcessSpawner"] = {
        "server_log_dir": p["server_logs"],
        "first_uid": int(settings.get("first_uid") or host_accounts.DEFAULT_UID_MIN),
    }
    if not system_users:
        config["SimpleLocalProcessSpawner"] = {"home_dir_template": os.path.join(p["home"], "{username}")}
    services = []
    for name, service in hub_model.hub_services(
        model, gateway_service_url(settings), exporter=local_exporter(model, settings)
    ).items():
        entry = {"name": name}
        entry.update(service)
        services.append(entry)
    if cull_model.enabled(model):
        # On Kubernetes the chart runs the culler (values.py renders its cull.*);
        # here the hub does, as its managed service, with the store's token.
        api_url = f"{hub_bind_url(settings)}/hub/api"
        services.append(cull_model.local_service(model, p["python"], api_url))
        hub["load_roles"] = [*hub["load_roles"], cull_model.local_role(model)]
    if https(settings):
        services.append(http_redirect_service(model, settings))
    # A killed hub leaves its managed services running (JupyterHub starts them
    # in sessions of their own); the guard ends each with its hub.
    for service in services:
        if service.get("command"):
            service["command"] = [p["python"], p["service_guard_py"], *service["command"]]
    # jupyterhub_config.py puts etc/ on the hub's sys.path for spawner_class.
    return {"config": config, "services": services, "classes_dir": p["etc"], "secrets_file": p["hub_secrets_json"]}


# The hub's managed service on the plain-HTTP port (roles/daskhub_local/files/daskhub_http_redirect.py).
HTTP_REDIRECT_SERVICE = "daskhub-http-redirect"


def http_redirect_service(model: dict, settings: dict) -> dict:
    """The hub service that answers ACME's HTTP-01 challenges and redirects the rest to HTTPS.

    Managed by the hub, so it runs and restarts with it; no route, no role.
    """
    p = paths(settings["prefix"])
    return {
        "name": HTTP_REDIRECT_SERVICE,
        "command": [
            p["python"],
            p["http_redirect_py"],
            "--bind",
            settings["bind_ip"],
            "--port",
            str(int(settings["http_port"])),
            "--webroot",
            p["acme_webroot"],
            "--https-url",
            public_url(model, settings),
        ],
    }


def hub_secret_document(model: dict, secrets: dict, settings: dict) -> dict:
    """What jupyterhub_config.py loads from hub-secrets.json (mode 0600)."""
    config = copy.deepcopy(hub_model.hub_secret_config(model, secrets))
    config.setdefault("ConfigurableHTTPProxy", {})["auth_token"] = secrets["proxy_secret_token"]
    # JupyterHub turns a hex string into the secret's bytes.
    config.setdefault("JupyterHub", {})["cookie_secret"] = secrets["cookie_secret"]
    return {"config": config, "service_tokens": model_secrets.service_tokens(model, secrets)}


def gateway_document(model: dict, settings: dict) -> dict:
    """gateway-settings.json, what dask_gateway_config.py loads (no secrets).

    The shape of DASKHUB_GATEWAY_SETTINGS on Kubernetes (model/gateway.py,
    gateway_settings), which the shared files of plugins/files/gateway/
    read, and what only the local loader needs: the files to run, the
    secrets file, the database key, the classes folder.
    """
    assert_settings(settings)
    p = paths(settings["prefix"])
    system_users = bool(settings.get("system_users"))
    cluster = dict(gateway_model.gateway_cluster_config(model))
    guard = ["--preload", p["dashboard_guard"]]
    cluster.update({"scheduler_cmd": [*SCHEDULER_CMD, *guard], "worker_cmd": [*WORKER_CMD, *guard]})
    authenticator = {"jupyterhub_api_url": f"{hub_bind_url(settings)}/hub/api"}
    if gateway_model.gateway_scoped_access(settings["gateway_version"]):
        # hub_roles grants users access:services!service=dask-gateway; naming
        # the service makes the gateway require that scope.
        authenticator["jupyterhub_service_name"] = gateway_model.GATEWAY_SERVICE
    bind = url_host(settings["bind_ip"])
    proxy = {"address": f"{bind}:{settings['gateway_port']}", "prefix": GATEWAY_PREFIX}
    if https(settings):
        # The public port then takes only the schedulers' TLS (gateway://);
        # the HTTP side serves loopback (addresses.gateway_http_url).
        proxy.update({"address": gateway_http_url(settings).split("://", 1)[1], "tcp_address": proxy["address"]})
    config = {
        "DaskGateway": {
            "backend_class": SYSTEM_BACKEND if system_users else UNSAFE_BACKEND,
            "address": f"127.0.0.1:{settings['gateway_api_port']}",
            "authenticator_class": "dask_gateway_server.auth.JupyterHubAuthenticator",
        },
        "Proxy": proxy,
        "JupyterHubAuthenticator": authenticator,
        "LocalBackend": {
            "db_url": f"sqlite:///{p['gateway_db']}",
            "clusters_directory": p["clusters"],
            # Clusters outlive a gateway restart; the restarted gateway
            # finds them again through its database.
            "stop_clusters_on_shutdown": False,
        },
        "ClusterConfig": cluster,
        # The host's UID_MIN (local_preflight reads it): the backend never
        # runs a cluster as an account below it.
        "DaskhubLocalBackend": {"first_uid": int(settings.get("first_uid") or host_accounts.DEFAULT_UID_MIN)},
    }
    document = gateway_model.gateway_settings(model, config)
    document.update(
        {
            "files": list(gateway_model.GATEWAY_CONFIG_FILES),
            "secrets_file": p["gateway_secrets_json"],
            "db_encrypt_key_file": p["gateway_db_key"],
            # dask_gateway_config.py puts etc/ on the gateway's sys.path for
            # backend_class; the files above are there too.
            "classes_dir": p["etc"],
        }
    )
    return document


def gateway_secret_document(secrets: dict) -> dict:
    """What dask_gateway_config.py loads from gateway-secrets.json (mode 0600)."""
    return {"config": {"JupyterHubAuthenticator": {"jupyterhub_api_token": secrets["dask_gateway_api_token"]}}}


def gateway_shared_files(settings: dict) -> list[dict]:
    """The shared files of plugins/files/gateway/ as the local target installs them, beside the gateway's config.

    Entries for the local_files module: path, content, and the program that
    loads them (the gateway, in the order gateway_document lists them).
    """
    etc = paths(settings["prefix"])["etc"]
    return [
        {
            "path": os.path.join(etc, name),
            "content": service_files.read(f"gateway/{name}"),
            "restarts": ["dask-gateway"],
        }
        for name in gateway_model.GATEWAY_CONFIG_FILES
    ]


def notebook_files(model: dict, settings: dict) -> dict:
    """The user servers' Jupyter configuration and the panel's extension (model/hub.py) under etc/jupyter/.

    Entries for local_files: ``directories`` (path -> mode) and ``files``.
    A server reads them as it starts: nothing to restart.
    """
    root = paths(settings["prefix"])["jupyter_config"]
    address = gateway_addresses(model, settings)["address"]
    contents = {
        relative: json.dumps(data, indent=2, sort_keys=True) + "\n"
        for relative, data in hub_model.notebook_config_files(address).items()
    }
    contents.update(
        {relative: service_files.read(name) for relative, name in hub_model.notebook_python_files().items()}
    )
    directories = {root: "0755"}
    files = []
    for relative, content in sorted(contents.items()):
        path = os.path.join(root, relative)
        directories[os.path.dirname(path)] = "0755"
        files.append({"path": path, "content": content})
    return {"directories": directories, "files": files}
