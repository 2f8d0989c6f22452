"""Where the local target keeps everything, under its prefix.

Layout of a prefix::

    python/          a copy of the base interpreter, when run as root and the
                     stack's accounts cannot run the original (local_venv, host/shared_python.py)
    venv/            Python venv with the pinned stack (and supervisord)
    proxy/           configurable-http-proxy from npm
    etc/             jupyterhub_config.py, dask_gateway_config.py and the
                     settings they load (*-settings.json), the secrets
                     (*-secrets.json, 0600), the hub's spawner classes, the
                     gateway's backends and its shared files (plugins/files/gateway/);
                     etc/jupyter/, the user servers' Jupyter configuration
                     (their JUPYTER_CONFIG_PATH)
    state/           hub and gateway databases, gateway DB key (0700)
    log/ run/        service logs (log/servers/<user>.log: each user's server,
                     0600); supervisord socket and pid file
    home/            home directories of the SimpleLocalProcessSpawner users
    tls/             the hub's certificate (fullchain.pem), its key and the
                     ACME account key (0600), in a 0700 directory
    acme-challenge/  HTTP-01 answers, served on the HTTP port (render/local/https.py)
    clusters/        working directories of the gateway's clusters

Pure Python (standard library only) so filters, modules and tests share it.
"""

from __future__ import annotations

import os

# JupyterHub's SimpleLocalProcessSpawner and LocalProcessSpawner, each
# server's output in a log file of its own instead of the hub's stdout, which
# dies with the hub while the servers live on (roles/daskhub_local/files/).
SPAWNERS_MODULE = "daskhub_spawners"
# roles/daskhub_local/files/daskhub_local_backends.py, installed into etc/:
# dask-gateway-server's local backends, refusing to run a cluster as root.
BACKENDS_MODULE = "daskhub_local_backends"
# The distributed preload (roles/daskhub_local/files/) that lets a cluster's
# HTTP servers (dashboard, workers' /info and /metrics, the scheduler's
# gateway API) answer only its owner's account and the gateway's: they listen
# on 127.0.0.1 ports any local account could otherwise open. It goes on the
# command line, as dask-gateway's own scheduler preload does: a command line
# --preload replaces distributed's preload config, so the config would be
# ignored on the scheduler.
DASHBOARD_GUARD = "daskhub_dashboard_guard.py"


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
        "jupyter_config": os.path.join(etc, "jupyter"),
        "state": state,
        "log": os.path.join(prefix, "log"),
        "server_logs": os.path.join(prefix, "log", "servers"),
        "run": os.path.join(prefix, "run"),
        "home": os.path.join(prefix, "home"),
        "clusters": os.path.join(prefix, "clusters"),
        "hub_config_py": os.path.join(etc, "jupyterhub_config.py"),
        "spawners_py": os.path.join(etc, f"{SPAWNERS_MODULE}.py"),
        "hub_settings_json": os.path.join(etc, "hub-settings.json"),
        "hub_secrets_json": os.path.join(etc, "hub-secrets.json"),
        "gateway_config_py": os.path.join(etc, "dask_gateway_config.py"),
        "gateway_settings_json": os.path.join(etc, "gateway-settings.json"),
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
        "tls": os.path.join(prefix, "tls"),
        "tls_cert": os.path.join(prefix, "tls", "fullchain.pem"),
        "tls_key": os.path.join(prefix, "tls", "privkey.pem"),
        "tls_account_key": os.path.join(prefix, "tls", "acme-account.key"),
        "tls_csr": os.path.join(prefix, "tls", "request.csr"),
        "acme_webroot": os.path.join(prefix, "acme-challenge"),
        "http_redirect_py": os.path.join(etc, "daskhub_http_redirect.py"),
        # Before each hub-managed service's command, so the service ends with its hub.
        "service_guard_py": os.path.join(etc, "daskhub_service_guard.py"),
        # The site's private CA (daskhub_https_ca_bundle), readable by all.
        "site_ca": os.path.join(etc, "site-ca.pem"),
    }
