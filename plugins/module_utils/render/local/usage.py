"""What the local play prints at the end: the hub URL, how to log in, the
gateway snippets, the isolation in force, the verify command.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.addresses import gateway_addresses, public_url
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local.paths import paths


def gateway_snippet(model: dict, settings: dict) -> str:
    """The three lines a user runs outside a notebook (JUPYTERHUB_API_TOKEN set)."""
    proxy_address = gateway_addresses(model, settings)["proxy_address"]
    if settings.get("https"):
        # From elsewhere the gateway's TLS port is reached by the site's name too.
        proxy_address = f"gateway://{settings['https_host']}:{settings['gateway_port']}"
    public = public_url(model, settings) + GATEWAY_PREFIX
    return (
        "from dask_gateway import Gateway\n"
        f'gateway = Gateway("{public}", proxy_address="{proxy_address}", auth="jupyterhub")\n'
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
    users = hub_model.allowed_users(model)
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
    gateway = gateway_model.gateway_access_scope()
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
