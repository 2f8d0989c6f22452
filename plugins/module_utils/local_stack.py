# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target: JupyterHub and dask-gateway-server on one host.

Turns the site model plus the local settings (prefix, bind address, ports,
isolation) into the documents the local services load. Every piece that the
Kubernetes target also renders (hub traitlets, services, roles, the user
environment, the options handler, the ClusterConfig traits) comes from
``site_model``, so the two targets cannot drift; this module only adds what
is specific to running the processes on one host.

Layout of a prefix::

    python/          a copy of the base interpreter, when run as root and the
                     stack's accounts cannot run the original (local_shared_python)
    venv/            Python venv with the pinned stack (and supervisord)
    proxy/           configurable-http-proxy from npm
    etc/             jupyterhub_config.py, dask_gateway_config.py (the settings
                     inline), the secrets they load (*-secrets.json, 0600) and
                     the hub's spawner classes (daskhub_spawners.py)
    state/           hub and gateway databases, gateway DB key (0700)
    log/ run/        service logs (log/servers/<user>.log: each user's server,
                     0600); supervisord socket and pid file
    home/            home directories of the SimpleLocalProcessSpawner users
    clusters/        working directories of the gateway's clusters

Pure Python (standard library only) so filters, modules and tests share it.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import time
import urllib.error
import urllib.request

from ansible_collections.daskhub.deploy.plugins.module_utils import (
    host_accounts,
    local_processes,
    model_validation,
    site_model,
)

GATEWAY_PREFIX = f"/services/{site_model.GATEWAY_SERVICE}"
# JupyterHub's SimpleLocalProcessSpawner and LocalProcessSpawner, each
# server's output in a log file of its own instead of the hub's stdout, which
# dies with the hub while the servers live on (roles/daskhub_local/files/).
SPAWNERS_MODULE = "daskhub_spawners"
SIMPLE_SPAWNER = f"{SPAWNERS_MODULE}.DaskhubSimpleLocalProcessSpawner"
SYSTEM_SPAWNER = f"{SPAWNERS_MODULE}.DaskhubLocalProcessSpawner"
# roles/daskhub_local/files/daskhub_local_backends.py, installed into etc/:
# dask-gateway-server's local backends, refusing to run a cluster as root.
BACKENDS_MODULE = "daskhub_local_backends"
UNSAFE_BACKEND = f"{BACKENDS_MODULE}.DaskhubUnsafeLocalBackend"
SYSTEM_BACKEND = f"{BACKENDS_MODULE}.DaskhubLocalBackend"
# distributed no longer installs dask-scheduler / dask-worker.
SCHEDULER_CMD = ["dask", "scheduler"]
# The local backends start schedulers on 127.0.0.1 (their default_host) but
# pass workers no --host, so a worker and its nanny would listen on every
# address; clients reach clusters only through the gateway's proxy.
CLUSTER_HOST = "127.0.0.1"
WORKER_CMD = ["dask", "worker", "--host", CLUSTER_HOST]
# The distributed preload (roles/daskhub_local/files/) that lets a cluster's
# HTTP servers (dashboard, workers' /info and /metrics, the scheduler's
# gateway API) answer only its owner's account and the gateway's: they listen
# on 127.0.0.1 ports any local account could otherwise open. It goes on the
# command line, as dask-gateway's own scheduler preload does: a command line
# --preload replaces distributed's preload config, so the config would be
# ignored on the scheduler.
DASHBOARD_GUARD = "daskhub_dashboard_guard.py"
PORT_NAMES = ("hub_port", "hub_api_port", "proxy_api_port", "gateway_port", "gateway_api_port")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104  names of the wildcard, not a bind


class LocalSettingsError(ValueError):
    """The local settings break a rule; the message lists every problem."""


def paths(prefix: str) -> dict:
    """Absolute paths of everything the local target keeps under its prefix."""
    prefix = os.path.abspath(os.path.expanduser(prefix))
    etc = os.path.join(prefix, "etc")
    state = os.path.join(prefix, "state")
    venv = os.path.join(prefix, "venv")
    return {
        "prefix": prefix,
        "venv": venv,
        "venv_bin": os.path.join(venv, "bin"),
        # A copy of the interpreter, when the stack's accounts cannot run the original.
        "shared_python": os.path.join(prefix, "python"),
        "python": os.path.join(venv, "bin", "python"),
        "proxy_dir": os.path.join(prefix, "proxy"),
        "chp": os.path.join(prefix, "proxy", "node_modules", ".bin", "configurable-http-proxy"),
        "chp_package_json": os.path.join(prefix, "proxy", "node_modules", "configurable-http-proxy", "package.json"),
        "etc": etc,
        "state": state,
        "log": os.path.join(prefix, "log"),
        "server_logs": os.path.join(prefix, "log", "servers"),
        "run": os.path.join(prefix, "run"),
        "home": os.path.join(prefix, "home"),
        "clusters": os.path.join(prefix, "clusters"),
        "hub_config_py": os.path.join(etc, "jupyterhub_config.py"),
        "spawners_py": os.path.join(etc, f"{SPAWNERS_MODULE}.py"),
        "hub_secrets_json": os.path.join(etc, "hub-secrets.json"),
        "gateway_config_py": os.path.join(etc, "dask_gateway_config.py"),
        "gateway_secrets_json": os.path.join(etc, "gateway-secrets.json"),
        "gateway_backends_py": os.path.join(etc, f"{BACKENDS_MODULE}.py"),
        "dashboard_guard": os.path.join(etc, DASHBOARD_GUARD),
        "supervisord_conf": os.path.join(etc, "supervisord.conf"),
        "supervisord_sock": os.path.join(prefix, "run", "supervisord.sock"),
        "supervisord_pid": os.path.join(prefix, "run", "supervisord.pid"),
        "hub_db": os.path.join(state, "jupyterhub.sqlite"),
        "gateway_db": os.path.join(state, "dask_gateway.sqlite"),
        "gateway_db_key": os.path.join(state, "dask_gateway_db.key"),
        "proxy_pid": os.path.join(state, "jupyterhub-proxy.pid"),
    }


def check_settings(settings: dict) -> list[str]:
    """Every problem of the local settings, one readable line each."""
    errors = []
    ports = {}
    for name in PORT_NAMES:
        value = settings.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            errors.append(f"daskhub_local_{name}: must be a TCP port (1-65535), got {value!r}")
            continue
        if value in ports:
            errors.append(f"daskhub_local_{name}: port {value} is also daskhub_local_{ports[value]}")
        ports[value] = name
    try:
        ipaddress.ip_address(settings.get("bind_ip") or "")
    except ValueError:
        errors.append(f"daskhub_local_bind_ip: not an IP address: {settings.get('bind_ip')!r}")
    prefix = settings.get("prefix") or ""
    if not os.path.isabs(os.path.expanduser(prefix)):
        errors.append(f"daskhub_local_prefix: must be an absolute path, got {prefix!r}")
    requested = settings.get("system_users_requested", settings.get("system_users"))
    # Ansible's own conversions: -e daskhub_local_system_users=false is a string.
    if str(requested).lower() not in ("auto", "true", "false", "yes", "no", "on", "off", "1", "0"):
        errors.append(f"daskhub_local_system_users: must be auto, true or false, got {requested!r}")
    if settings.get("system_users") and not settings.get("run_as_root"):
        errors.append("daskhub_local_system_users: true needs the play to run as root (become: true)")
    if settings.get("run_as_root") and not settings.get("system_users"):
        # The shared-uid mode never runs a notebook as root: as root it runs
        # the services, and so every notebook and cluster, as this account.
        problem = model_validation.account_problem(settings.get("service_user") or "", "daskhub_local_service_user")
        if problem:
            errors.append(
                "daskhub_local_service_user: the account the services run as in the shared-uid mode "
                f"(daskhub_local_system_users: false as root): {problem}"
            )
    return errors


def _assert_settings(settings: dict) -> None:
    errors = check_settings(settings)
    if errors:
        raise LocalSettingsError("The local target settings are invalid:\n" + "\n".join(f"  - {e}" for e in errors))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def connect_host(bind_ip: str) -> str:
    """The address local clients use for a service bound to ``bind_ip``."""
    if bind_ip in WILDCARD_HOSTS:
        return "127.0.0.1"
    if ":" in bind_ip:
        return f"[{bind_ip}]"
    return bind_ip


def hub_internal_url(settings: dict) -> str:
    """The hub's public proxy as seen from this host (no trailing slash)."""
    return f"http://{connect_host(settings['bind_ip'])}:{settings['hub_port']}"


def public_url(model: dict, settings: dict) -> str:
    """The URL users open: the model's hub_public_url, else the bind address."""
    url = (model.get("hub_public_url") or "").rstrip("/")
    if url:
        return url
    host = settings["bind_ip"]
    if host in WILDCARD_HOSTS:
        host = settings.get("fqdn") or "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings['hub_port']}"


def gateway_addresses(model: dict, settings: dict) -> dict:
    """The three gateway addresses: API (through the hub), scheduler proxy, public."""
    return {
        # Same shape as Kubernetes: users reach the gateway as a hub service.
        "address": hub_internal_url(settings) + GATEWAY_PREFIX,
        # Scheduler traffic (TLS) goes to the gateway's own proxy, which
        # multiplexes it with HTTP on one port, as traefik does on Kubernetes.
        "proxy_address": f"gateway://{connect_host(settings['bind_ip'])}:{settings['gateway_port']}",
        "public_address": public_url(model, settings) + GATEWAY_PREFIX,
    }


def _gateway_service_url(settings: dict) -> str:
    return f"http://{connect_host(settings['bind_ip'])}:{settings['gateway_port']}"


def hub_document(model: dict, settings: dict) -> dict:
    """The hub settings jupyterhub_config.py carries inline (no secrets)."""
    _assert_settings(settings)
    p = paths(settings["prefix"])
    singleuser = model.get("singleuser") or {}
    config = copy.deepcopy(site_model.hub_config(model, settings["gateway_version"]))
    addresses = gateway_addresses(model, settings)
    environment = dict(singleuser.get("extra_env") or {})
    environment.update(
        site_model.user_environment(addresses["address"], addresses["proxy_address"], addresses["public_address"])
    )
    environment.update(site_model.notebook_environment(model, image_from_notebook=False))
    system_users = bool(settings.get("system_users"))
    hub = config.setdefault("JupyterHub", {})
    hub.update(
        {
            "bind_url": f"http://{_url_host(settings['bind_ip'])}:{settings['hub_port']}",
            "hub_bind_url": f"http://127.0.0.1:{settings['hub_api_port']}",
            "db_url": f"sqlite:///{p['hub_db']}",
            # A pin change across a schema change (4.x to 5.x) would otherwise
            # stop the hub at start; JupyterHub copies the sqlite file first.
            "upgrade_db": True,
            "spawner_class": SYSTEM_SPAWNER if system_users else SIMPLE_SPAWNER,
            "load_roles": site_model.hub_roles(model, settings["gateway_version"]),
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
    spawner = {
        "cmd": [os.path.join(p["venv_bin"], "jupyterhub-singleuser")],
        "environment": environment,
        "default_url": singleuser.get("default_url") or "/lab",
        "start_timeout": int(singleuser.get("start_timeout") or 60),
        "http_timeout": 60,
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
    for name, service in site_model.hub_services(model, _gateway_service_url(settings)).items():
        entry = {"name": name}
        entry.update(service)
        services.append(entry)
    # jupyterhub_config.py puts etc/ on the hub's sys.path for spawner_class.
    return {"config": config, "services": services, "classes_dir": p["etc"]}


def hub_secret_document(model: dict, secrets: dict, settings: dict) -> dict:
    """What jupyterhub_config.py loads from hub-secrets.json (mode 0600)."""
    config = copy.deepcopy(site_model.hub_secret_config(model, secrets))
    config.setdefault("ConfigurableHTTPProxy", {})["auth_token"] = secrets["proxy_secret_token"]
    # JupyterHub turns a hex string into the secret's bytes.
    config.setdefault("JupyterHub", {})["cookie_secret"] = secrets["cookie_secret"]
    return {"config": config, "service_tokens": site_model.service_tokens(model, secrets)}


def gateway_document(model: dict, settings: dict) -> dict:
    """The gateway settings dask_gateway_config.py carries inline (no secrets)."""
    _assert_settings(settings)
    p = paths(settings["prefix"])
    system_users = bool(settings.get("system_users"))
    cluster = dict(site_model.gateway_cluster_config(model))
    guard = ["--preload", p["dashboard_guard"]]
    cluster.update({"scheduler_cmd": [*SCHEDULER_CMD, *guard], "worker_cmd": [*WORKER_CMD, *guard]})
    authenticator = {"jupyterhub_api_url": f"http://127.0.0.1:{settings['hub_api_port']}/hub/api"}
    if site_model.gateway_scoped_access(settings["gateway_version"]):
        # hub_roles grants users access:services!service=dask-gateway; naming
        # the service makes the gateway require that scope.
        authenticator["jupyterhub_service_name"] = site_model.GATEWAY_SERVICE
    bind = _url_host(settings["bind_ip"])
    return {
        "config": {
            "DaskGateway": {
                "backend_class": SYSTEM_BACKEND if system_users else UNSAFE_BACKEND,
                "address": f"127.0.0.1:{settings['gateway_api_port']}",
                "authenticator_class": "dask_gateway_server.auth.JupyterHubAuthenticator",
            },
            "Proxy": {"address": f"{bind}:{settings['gateway_port']}", "prefix": GATEWAY_PREFIX},
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
        },
        "db_encrypt_key_file": p["gateway_db_key"],
        # dask_gateway_config.py puts etc/ on the gateway's sys.path for backend_class.
        "classes_dir": p["etc"],
    }


def gateway_secret_document(secrets: dict) -> dict:
    """What dask_gateway_config.py loads from gateway-secrets.json (mode 0600)."""
    return {"config": {"JupyterHubAuthenticator": {"jupyterhub_api_token": secrets["dask_gateway_api_token"]}}}


def _embed(document: dict) -> str:
    """A JSON document as a Python expression that reads well in a diff."""
    text = json.dumps(document, indent=2, sort_keys=True)
    if "'''" in text or text.endswith("\\"):
        return f"_daskhub_json.loads({text!r})"
    return "_daskhub_json.loads(r'''\n" + text + "\n''')"


_HEADER = """\
# Generated by daskhub.deploy (role daskhub_local) from the site model; re-run
# the playbook instead of editing. The secrets are in {secrets}
# (mode 0600), so this file can stay readable.
import json as _daskhub_json
import pathlib as _daskhub_pathlib
import sys as _daskhub_sys


def _daskhub_apply(document):
    for section, traits in document.get("config", {{}}).items():
        for trait, value in traits.items():
            c[section][trait] = value
    return document


_DASKHUB_SECRETS = _daskhub_json.loads(_daskhub_pathlib.Path({secrets_path!r}).read_text())
_DASKHUB_CONFIG = {config}
# The classes this config names (the spawners, the gateway's backends) are
# files of the role daskhub_local beside it.
if _DASKHUB_CONFIG["classes_dir"] not in _daskhub_sys.path:
    _daskhub_sys.path.append(_DASKHUB_CONFIG["classes_dir"])
_daskhub_apply(_DASKHUB_CONFIG)
_daskhub_apply(_DASKHUB_SECRETS)
"""

_HUB_TAIL = """
_daskhub_tokens = _DASKHUB_SECRETS.get("service_tokens", {})
c.JupyterHub.services = [
    dict(service, api_token=_daskhub_tokens[service["name"]]) if service["name"] in _daskhub_tokens else service
    for service in _DASKHUB_CONFIG.get("services", [])
]
"""

_GATEWAY_TAIL = """
c.LocalBackend.db_encrypt_keys = [
    _daskhub_pathlib.Path(_DASKHUB_CONFIG["db_encrypt_key_file"]).read_text().strip()
]

"""


def _config_head(document: dict, secrets_path: str) -> str:
    return _HEADER.format(secrets=os.path.basename(secrets_path), secrets_path=secrets_path, config=_embed(document))


def hub_config_source(model: dict, settings: dict) -> str:
    """jupyterhub_config.py: the hub document inline, the secrets from hub-secrets.json."""
    secrets_path = paths(settings["prefix"])["hub_secrets_json"]
    return _config_head(hub_document(model, settings), secrets_path) + _HUB_TAIL


def gateway_config_source(model: dict, settings: dict) -> str:
    """dask_gateway_config.py: the gateway document inline, then the shared options handler verbatim."""
    secrets_path = paths(settings["prefix"])["gateway_secrets_json"]
    return (
        _config_head(gateway_document(model, settings), secrets_path)
        + _GATEWAY_TAIL
        + site_model.gateway_auth_code()
        + site_model.gateway_options_handler(model)
    )


def gateway_snippet(model: dict, settings: dict) -> str:
    """The three lines a user runs outside a notebook (JUPYTERHUB_API_TOKEN set)."""
    addresses = gateway_addresses(model, settings)
    public = public_url(model, settings) + GATEWAY_PREFIX
    return (
        "from dask_gateway import Gateway\n"
        f'gateway = Gateway("{public}", proxy_address="{addresses["proxy_address"]}", auth="jupyterhub")\n'
        "cluster = gateway.new_cluster(worker_cores=1, worker_memory=2)"
    )


# How the closing message tells operators to check the site, typed from the repository.
VERIFY_COMMAND = ".venv/bin/ansible-playbook playbooks/verify.yml"


def service_account(settings: dict) -> str:
    """The account the hub and the gateway run as: '' for the play's own user.

    Only the shared-uid mode as root has one (daskhub_local_service_user);
    with system accounts the services stay root, which LocalProcessSpawner
    and LocalBackend need to start processes as each user.
    """
    if settings.get("run_as_root") and not settings.get("system_users"):
        return settings.get("service_user") or ""
    return ""


def isolation(settings: dict) -> str:
    """One line: which isolation is in force, for the play's summary."""
    if settings.get("system_users"):
        return (
            "Isolation: each hub user is a system account (group daskhub-users); "
            "their notebooks and Dask clusters run under it."
        )
    account = service_account(settings)
    who = f"the service account {account}" if account else "the user running the services"
    return (
        f"Isolation: NONE between hub users - every notebook and Dask cluster runs as {who}, one trust domain "
        "(daskhub_local_system_users: false): any hub user can read the others' files and the hub's secrets."
    )


def usage_lines(model: dict, settings: dict, store_path: str, inventory_args: str = "") -> list[str]:
    """The main job's closing message: log in, the notebook snippet, a token from outside, verify."""
    url = public_url(model, settings)
    users = site_model.allowed_users(model)
    admins = sorted(str(name) for name in model.get("admin_users") or [])
    who = ", ".join(users) if users else "(nobody yet: set daskhub_users)"
    if model.get("authenticator") == "dummy":
        password = (
            "the password set in daskhub_dummy_password"
            if model.get("dummy_password_set")
            else f"the site's shared password, key dummy_password in {store_path} "
            "(mode 0600; ansible-vault view it if the store is encrypted)"
        )
        login = f"Log in at {url}/hub/login as any allowed user ({who}) with {password}."
    else:
        provider = (model.get("oauth") or {}).get("login_service") or "the OAuth provider"
        login = f"Log in at {url}/hub/login through {provider}; allowed users: {who}."
    if admins:
        login += f" Admins ({', '.join(admins)}) also get {url}/hub/admin."
    gateway = site_model.gateway_access_scope()
    return [
        f"Hub: {url}",
        login,
        "In a notebook on the hub, no configuration is needed: "
        "from dask_gateway import GatewayCluster; cluster = GatewayCluster(worker_cores=1, worker_memory=2); "
        "client = cluster.get_client()  (the Dask panel's +NEW makes a GatewayCluster too)",
        f"From outside the hub: make a token at {url}/hub/token (it needs {gateway}), "
        "export JUPYTERHUB_API_TOKEN=<that token>, then:",
        gateway_snippet(model, settings),
        isolation(settings),
        f"Logs: {paths(settings['prefix'])['log']}",
        f"Check the whole user path: {VERIFY_COMMAND}{inventory_args}",
    ]


# --- Health ------------------------------------------------------------------


def _get_json(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310  http(s) only
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status, json.loads(response.read() or b"null")


def health_checks(hub_url: str, gateway: bool = True) -> list[tuple[str, str]]:
    """(name, url) of the checks: the hub API, and the gateway through the hub."""
    hub_url = hub_url.rstrip("/")
    checks = [("hub API", f"{hub_url}/hub/api/")]
    if gateway:
        checks.append(("gateway health through the hub", f"{hub_url}{GATEWAY_PREFIX}/api/health"))
    return checks


def check_once(name: str, url: str, timeout: float = 5.0) -> tuple[bool, str, object]:
    """One attempt: (healthy, reason, body)."""
    try:
        status, body = _get_json(url, timeout)
    except urllib.error.HTTPError as err:
        return False, f"{name}: {url} answered HTTP {err.code}", None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return False, f"{name}: {url} did not answer ({reason})", None
    if name.startswith("gateway") and not (isinstance(body, dict) and body.get("status") == "pass"):
        return False, f"{name}: {url} reports {body!r}", body
    return status == 200, f"{name}: HTTP {status}", body


def wait_healthy(
    hub_url: str,
    gateway: bool = True,
    timeout: float = 120.0,
    interval: float = 1.0,
    clock=time.monotonic,
    sleep=time.sleep,
) -> dict:
    """Wait until every check passes; raise TimeoutError naming the failing one."""
    deadline = clock() + timeout
    results = {}
    for name, url in health_checks(hub_url, gateway):
        while True:
            healthy, reason, body = check_once(name, url)
            if healthy:
                results[name] = body
                break
            if clock() >= deadline:
                raise TimeoutError(f"not healthy after {timeout:.0f}s: {reason}")
            sleep(interval)
    return results


def port_owner(port: int, prefix: str) -> str | None:
    """Who listens on a TCP port: None (free), "ours" or a description.

    "ours" means a process whose command line mentions the prefix, i.e. the
    services of this very installation, so a re-run does not trip over them.
    """
    inodes = local_processes.listening_inodes(port)
    if not inodes:
        return None
    prefix = os.path.abspath(prefix)
    for pid, cmdline in local_processes.processes_with_sockets(inodes):
        if prefix in cmdline:
            return "ours"
        return f"process {pid} ({cmdline[:120]})"
    return "a process this user cannot inspect"


def shared_path_problem(path: str) -> str | None:
    """Why other users cannot run ``path`` (system accounts run notebooks and clusters), or None.

    Follows symlinks: a venv's python links to its base interpreter, which
    must be reachable too (a pyenv under /root is not).
    """
    real = os.path.realpath(path)
    if not os.path.exists(real):
        return f"{path} does not exist"
    mode = os.stat(real).st_mode
    if not mode & 0o001:
        return f"{real} is not executable by other users"
    parent = os.path.dirname(real)
    while True:
        if not os.stat(parent).st_mode & 0o001:
            return f"{parent} (on the way to {real}) is not searchable by other users"
        if parent == os.path.dirname(parent):
            return None
        parent = os.path.dirname(parent)


def closed_parent(path: str) -> str | None:
    """The first directory above ``path`` that other accounts cannot enter, or None.

    The prefix itself is made 0755 by the play; its parents are the site's.
    As root, each user's (or the service account's) processes run the venv
    and read the configuration under the prefix, so every parent must be
    searchable (o+x); a prefix under /root or in a 0700 temp dir is not.
    """
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.exists(parent) and not os.stat(parent).st_mode & 0o001:
            return parent
        if parent == os.path.dirname(parent):
            return None
        parent = os.path.dirname(parent)


def prefix_problem(prefix: str) -> str | None:
    """Why the prefix cannot be used, or None. Probes by really creating a directory."""
    prefix = os.path.abspath(os.path.expanduser(prefix))
    probe_parent = prefix
    while not os.path.exists(probe_parent):
        probe_parent = os.path.dirname(probe_parent)
    if not os.path.isdir(probe_parent):
        return f"{probe_parent} is not a directory, so {prefix} cannot be created there"
    probe = os.path.join(probe_parent, f".daskhub-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError as err:
        return f"cannot write to {probe_parent} ({err.strerror}); choose another daskhub_local_prefix or run as root"
    return None
