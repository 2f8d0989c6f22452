"""The user's own path on the deployed local target, through the user's door.

Everything here acts as a user does: through the hub's public URL, in a
kernel of the user's own server, whose code uses that server's own
JUPYTERHUB_API_TOKEN and no configuration. The door into the server is the
project's daskhub-verify service, which may only start, stop and open the
verify user's server (a browser's cookie does the same for the user).
"""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.jupyter_kernel import KernelError, KernelSession
from ansible_collections.daskhub.deploy.plugins.module_utils.jupyterhub_api import HubClient
from ansible_collections.daskhub.deploy.plugins.module_utils.site_model import DEFAULT_VERIFY_USER
from support.sockets import listening_sockets
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]

USER = DEFAULT_VERIFY_USER  # the default inventory's verify user (the dedicated one)
STEPS = (
    "hub answers",
    "start the user's own server",
    "open a kernel in the server",
    "the notebook's environment",
    "GatewayCluster() with the site's default options",
    "get_client(), scale(1), wait_for_workers(1)",
    "compute",
    "versions: notebook, scheduler, worker",
    "dashboard",
    "Gateway(): list, connect, stop",
    "Dask panel: +NEW",
    "reject an image without a tag",
    "reject worker_cores above the maximum",
    "reject a bogus token",
)
# The scopes JupyterHub gives a server token by default (its `server` role).
JUPYTERHUB_DEFAULT_SERVER_SCOPES = "['access:servers!server', 'users:activity!user']"


def _door(stack) -> str:
    return stack.secrets()["service_daskhub_verify_api_token"]


def _tokens_of(stack, user):
    status, tokens = stack.api("GET", f"/users/{user}/tokens")
    assert status == 200
    return sorted(token["id"] for token in tokens["api_tokens"])


def test_verify_walks_the_users_path_and_mints_nothing(local_stack):
    before = _tokens_of(local_stack, USER)
    proc = local_stack.playbook("playbooks/verify.yml")
    for step in STEPS:
        assert f"'{step}: " in proc.stdout or f"- {step}: " in proc.stdout, step
    # No token was made for the occasion, and the server is stopped again.
    assert _tokens_of(local_stack, USER) == before
    hub = HubClient(local_stack.hub_url + "/hub/api", _door(local_stack))
    assert not (hub.get_user(USER).get("servers") or {}).get("")


def test_verify_fails_with_the_401_when_the_server_token_lacks_the_gateway_scope(local_stack):
    """The fault we shipped once: every check green, and a notebook's GatewayCluster() got 401."""
    config = local_stack.prefix / "etc/jupyterhub_config.py"
    original = config.read_text()
    old_pid = local_stack.pid("jupyterhub")
    config.write_text(original + f"\nc.Spawner.server_token_scopes = {JUPYTERHUB_DEFAULT_SERVER_SCOPES}\n")
    try:
        local_stack.ctl("restart", "jupyterhub")
        old_pid = local_stack.wait_restarted("jupyterhub", old_pid)
        proc = local_stack.playbook("playbooks/verify.yml", check=False)
        assert proc.returncode != 0
        assert "verify step 'GatewayCluster() with the site's default options' failed" in proc.stdout
        assert "ClientResponseError: 401" in proc.stdout
        assert "Spawner.server_token_scopes lack access:services!service=dask-gateway" in proc.stdout
    finally:
        config.write_text(original)
        local_stack.ctl("restart", "jupyterhub")
        local_stack.wait_restarted("jupyterhub", old_pid)


@pytest.fixture
def users_session(local_stack):
    """alice's own server, a kernel in it and a cluster with one worker made there; all gone afterwards."""
    hub = HubClient(local_stack.hub_url + "/hub/api", _door(local_stack))
    hub.start_server(USER)
    server = hub.wait_for_server(USER, timeout=300)
    kernel = KernelSession(f"{local_stack.hub_url}{server['url']}", _door(local_stack), timeout=120)
    kernel.start()
    try:
        kernel.execute(
            "from dask_gateway import GatewayCluster\n"
            "cluster = GatewayCluster(worker_cores=1, worker_memory=1)\n"
            "client = cluster.get_client()\n"
            "cluster.scale(1)\n"
            "client.wait_for_workers(1, timeout=240)\n",
            timeout=300,
        )
        yield kernel
    finally:
        try:
            kernel.connect()
            kernel.execute("cluster.shutdown()", timeout=120)
        except KernelError:
            pass
        kernel.shutdown()
        hub.stop_server(USER)
        hub.wait_for_server(USER, ready=False, timeout=120)


def test_every_socket_the_stack_listens_on_is_on_the_models_addresses(local_stack, users_session):
    """The model binds everything to 127.0.0.1 (daskhub_local_bind_ip), the workers of a cluster included."""
    pids = [pid for pid, _ in local_stack.processes()]
    sockets = listening_sockets(pids)
    # A hub, its proxy, the gateway and its proxy, the user's server and kernel, a scheduler and a worker.
    assert len(sockets) >= 8, sockets
    outside = [entry for entry in sockets if entry[1] not in ("127.0.0.1", "::1")]
    assert not outside, f"listening outside the model's addresses: {outside}"


def test_a_hub_config_change_keeps_the_users_server_and_cluster(local_stack, users_session):
    kernel = users_session
    before = kernel.execute("print(cluster.name)", timeout=60).strip()
    old_pid, gateway_pid = local_stack.pid("jupyterhub"), local_stack.pid("dask-gateway")
    try:
        # A hub-only change: the converge restarts the hub, not the gateway.
        local_stack.playbook("site.yml", "-e", "daskhub_singleuser_start_timeout=301")
        assert local_stack.pid("jupyterhub") != old_pid
        assert local_stack.pid("dask-gateway") == gateway_pid
        # The proxy came back with the hub; the browser's JupyterLab reconnects the same way.
        kernel.connect()
        assert kernel.execute("print(cluster.name)", timeout=60).strip() == before
        out = kernel.execute("print(client.submit(sum, [1, 2, 3]).result(timeout=120))", timeout=180)
        assert out.strip() == "6"
    finally:
        local_stack.playbook("site.yml")
