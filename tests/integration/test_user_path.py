"""The user's own path on the deployed local target, through the user's door.

Everything here acts as a user does: through the hub's public URL, in a
kernel of the user's own server, whose code uses that server's own
JUPYTERHUB_API_TOKEN and no configuration. The door into the server is the
project's daskhub-verify service, which may only start, stop and open the
verify user's server (a browser's cookie does the same for the user).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import stat
import urllib.parse
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import verify
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.kernel import KernelError
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from support.browser import Browser
from support.playbooks import ROOT
from support.site_models import build_model
from support.sockets import listening_sockets
from support.stacks import LOCAL_STACK

pytestmark = [pytest.mark.stack, LOCAL_STACK]

USER = "alice"  # a user of the default inventory
MODEL = build_model(ROOT / "inventories/local")
VERIFY_USER = hub_model.verify_user(MODEL)
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


def test_verify_walks_the_users_path_mints_nothing_and_shows_no_secret_at_vvv(local_stack):
    before = _tokens_of(local_stack, VERIFY_USER)
    proc = local_stack.playbook("playbooks/verify.yml", "-vvv")
    # Every secret of the store, and none in the -vvv output (site.yml's -vvv
    # run is test_local_stack.py's).
    for name, value in local_stack.secrets().items():
        assert value not in proc.stdout, f"{name} is in verify.yml's -vvv output"
    shown = proc.stdout.replace("''", "'")  # YAML output doubles quotes inside quoted lines
    for step in STEPS:
        assert re.search(rf"- '?{re.escape(step)}: [0-9.]+ s", shown), step
    # No token was made for the occasion, and the server is stopped again.
    assert _tokens_of(local_stack, VERIFY_USER) == before
    hub = HubClient(local_stack.hub_url + "/hub/api", _door(local_stack))
    assert not (hub.get_user(VERIFY_USER).get("servers") or {}).get("")


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


@pytest.fixture(scope="module")
def users_session(local_stack):
    """alice logs in with the site's password, starts her server and makes a cluster in a kernel of it.

    Her browser's door: the hub's login form and the server's cookies. All gone afterwards.
    """
    browser = Browser(local_stack.hub_url)
    browser.login(USER, local_stack.secrets()["dummy_password"])
    browser.start_server(USER)
    kernel = browser.kernel(USER)
    try:
        kernel.execute(
            "from dask_gateway import GatewayCluster\n"
            "cluster = GatewayCluster(worker_cores=1, worker_memory=2)\n"
            "client = cluster.get_client()\n"
            "cluster.scale(1)\n"
            "client.wait_for_workers(1, timeout=240)\n",
            timeout=300,
        )
        yield browser, kernel
    finally:
        browser.end_session(USER, kernel)


def test_a_user_logs_in_and_gatewaycluster_works_with_no_configuration(users_session):
    """The site's promise, as a new user would: the snippets of docs/notebook-users.md in her own server."""
    browser, kernel = users_session
    assert kernel.execute(
        "import dask.array as da\nprint(int(da.arange(1000, chunks=100).sum().compute()))", timeout=180
    ).strip() == str(999 * 1000 // 2)
    link = kernel.execute("print(cluster.dashboard_link)", timeout=60).strip()
    status, _, _ = browser.get(urllib.parse.urlsplit(link).path)
    assert status == 200
    managed = kernel.execute(
        "from dask_gateway import Gateway\n"
        "gateway = Gateway()\n"
        "print(cluster.name in [c.name for c in gateway.list_clusters()])\n"
        "print(gateway.connect(cluster.name).name == cluster.name)\n",
        timeout=120,
    )
    assert managed.split() == ["True", "True"]
    factory = kernel.execute("import dask\nprint(dask.config.get('labextension.factory.class'))", timeout=60)
    assert factory.strip() == "GatewayCluster"
    # Her data on her workers (issue 22): they run as her, so a file she writes in her home, a worker reads.
    seen = kernel.execute(
        "import json, os, secrets\n"
        "home = os.path.expanduser('~')\n"
        "written = secrets.token_hex(8)\n"
        "path = os.path.join(home, f'daskhub-worker-reads-{written}.txt')\n"
        "with open(path, 'w') as stream:\n"
        "    stream.write(written)\n"
        "def _read(path):\n"
        "    with open(path) as stream:\n"
        "        return os.path.expanduser('~'), stream.read()\n"
        "worker_home, read = client.submit(_read, path, pure=False).result(timeout=60)\n"
        "os.remove(path)\n"
        "print(json.dumps({'home': home, 'worker_home': worker_home, 'read_back': read == written}))\n",
        timeout=120,
    )
    found = json.loads(seen.strip().splitlines()[-1])
    assert found["read_back"] is True
    assert found["worker_home"] == found["home"]


# What alice's kernel tries: her account, then paths of root and of bob.
_ISOLATION_PROBE = """\
import gc, json, os, pwd
from dask_gateway import Gateway
found = {"account": pwd.getpwuid(os.getuid()).pw_name, "uid": os.getuid()}
for label, path in json.loads(PATHS).items():
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").close()
        found[label] = "readable"
    except PermissionError:
        found[label] = "denied"
gateway = Gateway()
try:
    gateway.connect(BOB_CLUSTER)
    found["bob's cluster"] = "connected"
except Exception as error:
    found["bob's cluster"] = type(error).__name__
gc.collect()  # what the refused connect() left, freed here (see hub/verify_snippets.py)
print(json.dumps(found))
"""

# What alice's kernel gets from every 127.0.0.1 port bob's cluster listens on:
# an HTTP status, or why there was none.
_PORT_SCAN = """\
import http.client, json
answers = {}
for port in json.loads(PORTS):
    for path in DASHBOARD_PATHS:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path)
            answers[f"{port}{path}"] = connection.getresponse().status
        except Exception as error:
            answers[f"{port}{path}"] = type(error).__name__
        finally:
            connection.close()
        if not isinstance(answers[f"{port}{path}"], int):
            break  # not HTTP (a TLS comm port waits for a handshake): the next port
print(json.dumps(answers))
"""
# The pages that showed another user's cluster: the scheduler's identity,
# workers and logs, the workers' metrics and health.
DASHBOARD_PATHS = ("/json/identity.json", "/info/main/workers.html", "/info/main/logs.html", "/metrics", "/health")

# bob's cluster, in bob's kernel: one worker, the HTTP ports of its scheduler
# and worker as the processes themselves know them, and what bob gets there.
_BOBS_CLUSTER = """\
import json, urllib.request
from dask_gateway import GatewayCluster
cluster = GatewayCluster()
client = cluster.get_client()
cluster.scale(1)
client.wait_for_workers(1, timeout=240)
ports = {"scheduler": client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.http_server.port)}
ports["worker"] = next(iter(client.run(lambda dask_worker: dask_worker.http_server.port).values()))
own = {}
for role, path in (("scheduler", "/json/identity.json"), ("worker", "/health")):
    with urllib.request.urlopen(f"http://127.0.0.1:{ports[role]}{path}", timeout=30) as response:
        own[role] = response.status
print(json.dumps({"name": cluster.name, "ports": ports, "own": own}))
"""


def _cluster_ports_of(stack, user: str) -> set[int]:
    """The 127.0.0.1 ports the user's Dask processes listen on, read from /proc as root.

    Those are the processes that run in a cluster's working directory
    (schedulers, nannies and the workers they spawn).
    """
    uid = pwd.getpwnam(user).pw_uid
    clusters = str(stack.prefix / "clusters") + "/"
    pids = []
    for pid, _ in stack.processes():
        with contextlib.suppress(OSError):  # a process that ended since
            if Path(f"/proc/{pid}").stat().st_uid == uid and os.readlink(f"/proc/{pid}/cwd").startswith(clusters):
                pids.append(pid)
    return {port for _, address, port in listening_sockets(pids) if address == "127.0.0.1"}


def test_a_users_notebook_runs_as_her_own_account_and_reaches_nothing_of_others(local_stack, users_session):
    """Isolation by default as root (issue 11): each hub user is a system account.

    Nor can she open bob's dashboards (issue 19): his scheduler's and
    worker's HTTP servers listen on 127.0.0.1 ports she can find, and answer
    only bob and the gateway (the dashboard guard preload); bob's own
    kernel still gets them, and the clusters' directory does not list the
    names that open his dashboard through the gateway.
    """
    assert "Isolation: each hub user is a system account" in local_stack.deploy_output
    _, kernel = users_session
    # bob makes his cluster through his own door too: his login, his server, his kernel.
    bob = Browser(local_stack.hub_url)
    bob.login("bob", local_stack.secrets()["dummy_password"])
    bob.start_server("bob")
    bob_kernel = bob.kernel("bob")
    try:
        bobs = json.loads(bob_kernel.execute(_BOBS_CLUSTER, timeout=360).strip().splitlines()[-1])
        bob_cluster = bobs["name"]
        paths = {
            "the secrets store": local_stack.state_dir / "secrets.yml",
            "the hub's secrets": local_stack.prefix / "etc/hub-secrets.json",
            "the gateway's database": local_stack.prefix / "state/dask_gateway.sqlite",
            "bob's home": Path(pwd.getpwnam("bob").pw_dir),
            "bob's cluster directory": local_stack.prefix / "clusters" / bob_cluster,
            "the clusters' names": local_stack.prefix / "clusters",
        }
        for label, path in paths.items():
            assert path.exists(), f"{label} ({path}) is not there to probe"
        code = f"PATHS = {json.dumps({k: str(v) for k, v in paths.items()})!r}\nBOB_CLUSTER = {bob_cluster!r}\n"
        found = json.loads(kernel.execute(code + _ISOLATION_PROBE, timeout=120).strip().splitlines()[-1])
        # Every port bob's processes listen on, as a scan from alice's account would find them.
        ports = _cluster_ports_of(local_stack, "bob")
        dashboards = set(bobs["ports"].values())
        assert dashboards <= ports, f"bob's dashboards {bobs['ports']} are not among his listening ports {ports}"
        code = f"PORTS = {json.dumps(sorted(ports))!r}\nDASHBOARD_PATHS = {DASHBOARD_PATHS!r}\n"
        answers = json.loads(kernel.execute(code + _PORT_SCAN, timeout=300).strip().splitlines()[-1])
    finally:
        try:
            bob_kernel.execute("cluster.shutdown()", timeout=120)
        finally:
            bob_kernel.shutdown()
            bob.stop_server("bob")
    assert bobs["own"] == {"scheduler": 200, "worker": 200}, "bob lost his own dashboards"
    opened = {where: status for where, status in answers.items() if status == 200}
    assert not opened, f"alice opened bob's cluster's pages: {opened} (his dashboards: {bobs['ports']})"
    refused = {f"{port}{path}": 403 for port in dashboards for path in DASHBOARD_PATHS}
    assert {where: answers[where] for where in refused} == refused
    assert (found.pop("account"), found.pop("uid")) == (USER, pwd.getpwnam(USER).pw_uid)
    assert found.pop("bob's cluster") != "connected", "alice reached bob's cluster through the gateway"
    assert found == dict.fromkeys(paths, "denied")


# The dask-gateway clients that only the cycle collector would free, counted
# on the kernel's own thread (DEBUG_SAVEALL keeps them to be counted; their
# __del__ has run by then), then freed.
_CLIENTS_LEFT_TO_THE_COLLECTOR = """\
import gc as _gc
from dask_gateway import Gateway as _Gateway, GatewayCluster as _GatewayCluster
_gc.set_debug(_gc.DEBUG_SAVEALL)
_gc.collect()
print(sum(isinstance(_found, (_Gateway, _GatewayCluster)) for _found in _gc.garbage))
_gc.set_debug(0)
_gc.garbage.clear()
_gc.collect()
"""


def test_a_rejected_cluster_leaves_no_gateway_client_to_the_cycle_collector(users_session):
    """Verify's rejection steps hung now and then: a client freed by the cycle collector can deadlock the kernel.

    dask-gateway's __del__ closes a client through its IO loop and
    LoopRunner's non-reentrant lock; run by a collection inside that loop or
    inside the next client's start, it waits on itself for good. A rejected
    new_cluster() leaves its GatewayCluster in a reference cycle (the
    traceback), and the probe sees it; verify's own rejection snippet leaves
    none.
    """
    _, kernel = users_session
    options = {"worker_cores": MODEL["gateway"]["worker_cores"]["max"] + 1}
    bare = (
        "from dask_gateway import Gateway\n"
        f"try:\n    Gateway().new_cluster(**{options!r})\nexcept ValueError:\n    pass\n"
    )
    assert int(kernel.execute(bare + _CLIENTS_LEFT_TO_THE_COLLECTOR, timeout=120).split()[-1]) > 0
    cell = verify.snippet_cell("rejected", options=options)
    assert verify.parse_marked(kernel.execute(cell, timeout=120))["rejected"] is True
    assert int(kernel.execute(_CLIENTS_LEFT_TO_THE_COLLECTOR, timeout=120).split()[-1]) == 0


def test_a_silent_kernel_is_named_with_the_last_message_it_sent(users_session):
    _, kernel = users_session
    with pytest.raises(KernelError, match=r"went silent: no message in the 2s given \(the last of this request: "):
        kernel.execute("import time\nprint('started', flush=True)\ntime.sleep(6)", timeout=2)
    # The kernel was only busy: its next cell runs once the sleep is over.
    assert kernel.execute("print('after')", timeout=60).strip() == "after"


def test_every_socket_the_stack_listens_on_is_on_the_models_addresses(local_stack, users_session):
    """The model binds everything to 127.0.0.1 (daskhub_local_bind_ip), the workers of a cluster included."""
    pids = [pid for pid, _ in local_stack.processes()]
    sockets = listening_sockets(pids)
    # A hub, its proxy, the gateway and its proxy, the user's server and kernel, a scheduler and a worker.
    assert len(sockets) >= 8, sockets
    outside = [entry for entry in sockets if entry[1] not in ("127.0.0.1", "::1")]
    assert not outside, f"listening outside the model's addresses: {outside}"


# What a user runs first in a new notebook: a cluster of her own, a sum, gone again.
_SEED = """\
from dask_gateway import GatewayCluster
import dask.array as da
cluster = GatewayCluster(worker_cores=1, worker_memory=2)
client = cluster.get_client()
cluster.scale(1)
client.wait_for_workers(1, timeout=240)
print(int(da.arange(1000, chunks=100).sum().compute()))
cluster.shutdown()
"""


def test_a_hub_config_change_keeps_the_users_server_cluster_and_kernels_working(local_stack, users_session):
    """The users' servers outlive a hub restart, and so must their output.

    They once wrote to the restarted hub's stdout pipe (supervisord's): a new
    kernel in a surviving server then timed out and vanished, and the next
    cell of an existing kernel hung.
    """
    browser, kernel = users_session
    before = kernel.execute("print(cluster.name)", timeout=60).strip()
    old_pid, gateway_pid = local_stack.pid("jupyterhub"), local_stack.pid("dask-gateway")
    try:
        # A hub-only change: the converge restarts the hub, not the gateway.
        local_stack.playbook("site.yml", "-e", "daskhub_singleuser_start_timeout=301")
        assert local_stack.pid("jupyterhub") != old_pid
        assert local_stack.pid("dask-gateway") == gateway_pid
        # A new notebook in the server that predates the restart, as the user opens one.
        fresh = browser.kernel(USER, timeout=120)
        fresh_id = fresh.kernel_id
        try:
            assert fresh.execute(_SEED, timeout=400).strip().splitlines()[-1] == str(999 * 1000 // 2)
        finally:
            fresh.shutdown()
        # The server's output goes on to its own log, the hub's account's alone (root here).
        log = local_stack.prefix / "log/servers" / f"{USER}.log"
        assert f"Kernel started: {fresh_id}" in log.read_text(errors="replace")
        assert (log.stat().st_uid, stat.S_IMODE(log.stat().st_mode)) == (0, 0o600)
        assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
        # The proxy came back with the hub; the browser's JupyterLab reconnects the same way.
        kernel.connect()
        assert kernel.execute("print(cluster.name)", timeout=60).strip() == before
        out = kernel.execute("print(client.submit(sum, [1, 2, 3]).result(timeout=120))", timeout=180)
        assert out.strip() == "6"
    finally:
        local_stack.playbook("site.yml")
