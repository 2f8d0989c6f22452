#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Walks the user's path of a deployed DaskHub: their own server, a kernel in it, the site's snippets."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daskhub_verify
short_description: Check a deployed DaskHub the way its users use it, from inside a user's own notebook server
description:
  - Works for either target through the hub's public URL, the way a post-deploy health-check notebook does.
  - As one hub user, through the project's hub service C(daskhub-verify) (which may only start, stop and
    open that user's server), starts the user's own server, opens a kernel in it through the Jupyter
    server's REST API and kernel websocket, and runs the site's snippets there with the server's own
    C(JUPYTERHUB_API_TOKEN) and no configuration - C(GatewayCluster(worker_cores=..., worker_memory=...))
    with the site's default options, C(get_client()), C(scale(1)), C(wait_for_workers(1)), a dask array
    computation with a known result, C(Gateway().list_clusters()), C(connect()), C(stop_cluster()) and
    C(shutdown()). Nothing this module holds reaches the kernel.
  - Fetches the cluster's dashboard link as a browser would (HTTP 200), and compares the versions of
    dask, distributed and dask-gateway in the notebook, the scheduler and the worker.
  - Checks the Dask JupyterLab panel - its factory is C(dask_gateway.GatewayCluster), and its
    +NEW (C(PUT <server>/dask/clusters)) makes a gateway cluster whose dashboard the panel finds.
  - Checks the rejections - an image without a tag gets the options handler's message, worker_cores
    above the maximum is refused, a bogus token gets 401.
  - Each step reports its name and its time; a failure names the step, the part of the stack that broke
    and what to look at. The user's server is stopped unless it was running before, and the clusters
    this run made are stopped, whatever happened.
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  hub_url:
    description: Public URL of the hub, without C(/hub).
    type: str
    required: true
  api_token:
    description: Token of the hub service C(daskhub-verify), which may start, stop and open I(user)'s server.
    type: str
    required: true
  user:
    description: Hub user to act as.
    type: str
    required: true
  worker_cores:
    description: The site's default worker_cores (the options handler's default).
    type: int
    required: true
  worker_memory:
    description: The site's default worker_memory in GiB.
    type: float
    required: true
  worker_cores_max:
    description: The options handler's maximum of worker_cores; max + 1 must be refused.
    type: int
    required: true
  image:
    description: An image with a tag that the options handler accepts; without its tag it must be refused.
    type: str
    required: true
  target:
    description: The site's target, to say where to look when a step fails.
    type: str
    choices: [local, kubernetes]
    default: local
  log_dir:
    description: Where the local target's service logs are (named in failure messages).
    type: str
    default: ""
  timeout:
    description: Seconds each waiting step may take.
    type: int
    default: 180
attributes:
  check_mode:
    support: none
    description: It starts a server and clusters; in check mode it does nothing.
notes:
  - Needs only the Python standard library where it runs; the Dask code runs in the user's server.
"""

EXAMPLES = r"""
- name: Verify the site as its users use it
  daskhub.deploy.daskhub_verify:
    hub_url: http://127.0.0.1:8000
    api_token: "{{ daskhub_secrets.service_daskhub_verify_api_token }}"
    user: alice
    worker_cores: 1
    worker_memory: 2
    worker_cores_max: 4
    image: pangeo/base-notebook:2024.01.15
"""

RETURN = r"""
steps:
  description: The steps that passed, in order, each with its name, its seconds and what it found.
  returned: always
  type: list
  elements: dict
versions:
  description: dask, distributed and dask-gateway versions in the notebook, the scheduler and each worker.
  returned: when the cluster got a worker
  type: dict
"""

import json
import signal
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.kernel import CodeError, KernelError, KernelSession
from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities

GATEWAY_VARIABLES = (
    "DASK_GATEWAY__ADDRESS",
    "DASK_GATEWAY__PROXY_ADDRESS",
    "DASK_GATEWAY__PUBLIC_ADDRESS",
    "DASK_GATEWAY__AUTH__TYPE",
)
MARK = "DASKHUB-VERIFY:"
VERSIONED_PACKAGES = ("dask", "distributed", "dask_gateway")

# The snippets run in the user's kernel, one cell each, as a user would type
# them; the last line of each prints what verify checks.
SNIPPET_ENVIRONMENT = """\
import json as _json, os as _os
import dask
print({mark!r} + _json.dumps({{
    "user": _os.environ.get("JUPYTERHUB_USER"),
    "uid": _os.getuid(),
    "has_server_token": bool(_os.environ.get("JUPYTERHUB_API_TOKEN")),
    "gateway": {{name: _os.environ.get(name, "") for name in {variables!r}}},
    "labextension_factory": dask.config.get("labextension.factory", default=None),
}}))
"""
SNIPPET_NEW_CLUSTER = """\
from dask_gateway import GatewayCluster
cluster = GatewayCluster(worker_cores={cores!r}, worker_memory={memory!r})
print({mark!r} + _json.dumps({{"name": cluster.name}}))
"""
SNIPPET_CLIENT = """\
client = cluster.get_client()
cluster.scale(1)
client.wait_for_workers(1, timeout={timeout!r})
print({mark!r} + _json.dumps({{"workers": len(client.scheduler_info()["workers"])}}))
"""
SNIPPET_COMPUTE = """\
import dask.array as da
total = int(da.arange(1_000_000, chunks=100_000).sum().compute())
print({mark!r} + _json.dumps({{"sum": total}}))
"""
SNIPPET_VERSIONS = """\
def _daskhub_versions():
    import importlib
    return {{name: importlib.import_module(name).__version__ for name in {packages!r}}}
print({mark!r} + _json.dumps({{
    "notebook": _daskhub_versions(),
    "scheduler": client.run_on_scheduler(_daskhub_versions),
    "workers": client.run(_daskhub_versions),
}}))
"""
SNIPPET_DASHBOARD = """\
print({mark!r} + _json.dumps({{"dashboard_link": cluster.dashboard_link}}))
"""
SNIPPET_MANAGE = """\
import time as _time
from dask_gateway import Gateway
gateway = Gateway()
listed = [report.name for report in gateway.list_clusters()]
connected = gateway.connect(cluster.name)
connected_name = connected.name
connected.close(shutdown=False)
gateway.stop_cluster(cluster.name)
_deadline = _time.monotonic() + {timeout!r}
while cluster.name in [report.name for report in gateway.list_clusters()] and _time.monotonic() < _deadline:
    _time.sleep(0.5)
cluster.shutdown()
client.close()
print({mark!r} + _json.dumps({{
    "listed": listed,
    "connected": connected_name,
    "left": [report.name for report in gateway.list_clusters()],
}}))
"""
# dask-gateway's clients close themselves in __del__, through their IO loop
# and distributed's LoopRunner lock (a non-reentrant class-level lock). A
# client that only the cycle collector frees (a throwaway Gateway(), or the
# GatewayCluster a rejected new_cluster() leaves in its traceback) may be
# freed inside that loop's thread or inside the next client's LoopRunner
# start, and then waits on itself: the kernel hangs for good. So after the
# Manage step the snippets reuse the notebook's `gateway`, and a rejection's
# leftovers are collected at once, on the kernel's own thread, holding no
# lock.
SNIPPET_LIST = """\
print({mark!r} + _json.dumps({{"clusters": [report.name for report in gateway.list_clusters()]}}))
"""
SNIPPET_REJECTED = """\
import gc as _gc
from dask_gateway import Gateway
gateway = globals().get("gateway") or Gateway()
try:
    _rejected_cluster = gateway.new_cluster(**{options!r})
except Exception as _err:
    _found = {{"rejected": True, "message": f"{{type(_err).__name__}}: {{_err}}"[:500]}}
else:
    _rejected_cluster.shutdown()
    del _rejected_cluster
    _found = {{"rejected": False}}
_gc.collect()
print({mark!r} + _json.dumps(_found))
"""
SNIPPET_STOP = """\
from dask_gateway import Gateway
_gateway = globals().get("gateway") or Gateway()
for _name in {names!r}:
    _gateway.stop_cluster(_name)
print({mark!r} + _json.dumps({{"stopped": {names!r}}}))
"""


def _alarm(signum, frame):
    raise TimeoutError("no answer in time (the step hung)")


class StepFailed(Exception):
    def __init__(self, step, reason, hint=""):
        message = f"verify step '{step}' failed: {reason}"
        if hint:
            message += f" -- {hint}"
        super().__init__(message)
        self.step = step


def _http_status(url):
    """The HTTP status a plain GET of ``url`` gets (a browser with no hub cookie), error statuses included."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=30) as response:  # noqa: S310  hub URLs
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def _parse_marked(output):
    for line in reversed(output.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    raise ValueError(f"the snippet printed no result: {output[-300:]!r}")


def version_mismatches(versions):
    """Lines naming each package whose version differs between the notebook, the scheduler and the workers."""
    places = {"notebook": versions.get("notebook") or {}, "scheduler": versions.get("scheduler") or {}}
    for address, found in sorted((versions.get("workers") or {}).items()):
        places[f"worker {address}"] = found or {}
    problems = []
    for package in VERSIONED_PACKAGES:
        seen = {place: found.get(package) for place, found in places.items()}
        if len(set(seen.values())) > 1:
            problems.append(f"{package}: " + ", ".join(f"{place} {version}" for place, version in seen.items()))
    return problems


class Verifier:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.hub_url = self.params["hub_url"].rstrip("/")
        self.hub = HubClient(self.hub_url + "/hub/api", self.params["api_token"])
        self.user = self.params["user"]
        self.steps = []
        self.kernel = None
        self.server_url = None
        self.was_running = None
        self.clusters = []
        self.versions = None

    # -- hints: the part of the stack and where to look -------------------
    def _logs(self, service):
        if self.params["target"] == "local":
            where = self.params["log_dir"] or "<prefix>/log"
            return f"{where}/{'jupyterhub' if service == 'hub' else 'dask-gateway'}.log"
        return {"hub": "kubectl logs deploy/hub", "gateway": "kubectl logs deploy/api-<release>-dask-gateway"}[service]

    def _server_logs(self):
        if self.params["target"] == "local":
            return f"the hub log, which carries the servers' output ({self._logs('hub')})"
        return f"kubectl logs jupyter-{self.user}"

    def step(self, name, func, hint=""):
        started = time.monotonic()
        # A hung call must still end in a failure that names the step.
        signal.alarm(self.params["timeout"] + 60)
        try:
            detail = func()
        except StepFailed:
            raise
        except CodeError as err:
            raise StepFailed(name, f"the notebook raised {err.ename}: {err.evalue}", hint) from err
        except Exception as err:  # every failure becomes a named step failure
            raise StepFailed(name, f"{type(err).__name__}: {err}", hint) from err
        finally:
            signal.alarm(0)
        self.steps.append({"step": name, "seconds": round(time.monotonic() - started, 1), "result": detail})

    def run_snippet(self, template, **values):
        code = template.format(mark=MARK, **values)
        return _parse_marked(self.kernel.execute(code, timeout=self.params["timeout"]))

    # -- the hub and the user's server -------------------------------------
    def hub_answers(self):
        info = self.hub.info()
        return {"jupyterhub": (info or {}).get("version")}

    def start_server(self):
        model = self.hub.get_user(self.user)
        if model is None:
            raise StepFailed(
                "start the user's own server",
                f"the hub has no user {self.user!r}",
                "deploy the site (or run playbooks/user-sync.yml) so that daskhub_verify_user exists",
            )
        server = (model.get("servers") or {}).get("")
        self.was_running = bool(server and server.get("ready"))
        if not self.was_running:
            self.hub.start_server(self.user)
            server = self.hub.wait_for_server(self.user, timeout=self.params["timeout"])
        self.server_url = urllib.parse.urljoin(self.hub_url + "/", (server or {}).get("url") or f"user/{self.user}/")
        return {"url": self.server_url, "was_running": self.was_running}

    def open_kernel(self):
        self.kernel = KernelSession(self.server_url, self.params["api_token"], timeout=self.params["timeout"])
        return {"kernel": self.kernel.start()}

    def environment(self):
        found = self.run_snippet(SNIPPET_ENVIRONMENT, variables=list(GATEWAY_VARIABLES))
        missing = [name for name in GATEWAY_VARIABLES if not found["gateway"].get(name)]
        if missing:
            raise StepFailed("the notebook's environment", f"the server lacks {', '.join(missing)}")
        if found["gateway"]["DASK_GATEWAY__AUTH__TYPE"] != "jupyterhub":
            raise StepFailed(
                "the notebook's environment",
                f"DASK_GATEWAY__AUTH__TYPE is {found['gateway']['DASK_GATEWAY__AUTH__TYPE']!r}",
            )
        if not found["has_server_token"]:
            raise StepFailed("the notebook's environment", "the server has no JUPYTERHUB_API_TOKEN")
        factory = found.get("labextension_factory") or {}
        wanted = hub_model.LABEXTENSION_ENVIRONMENT
        if (factory.get("module"), factory.get("class")) != (
            wanted["DASK_LABEXTENSION__FACTORY__MODULE"],
            wanted["DASK_LABEXTENSION__FACTORY__CLASS"],
        ):
            raise StepFailed(
                "the notebook's environment",
                f"the Dask panel's factory is {factory.get('module')}.{factory.get('class')}, not a GatewayCluster",
            )
        return {"user": found["user"], "uid": found["uid"], **found["gateway"]}

    # -- the site's snippets ---------------------------------------------
    def new_cluster(self):
        found = self.run_snippet(
            SNIPPET_NEW_CLUSTER, cores=self.params["worker_cores"], memory=self.params["worker_memory"]
        )
        self.clusters.append(found["name"])
        return found

    def client_and_worker(self):
        return self.run_snippet(SNIPPET_CLIENT, timeout=self.params["timeout"])

    def compute(self):
        found = self.run_snippet(SNIPPET_COMPUTE)
        expected = 1_000_000 * (1_000_000 - 1) // 2
        if found["sum"] != expected:
            raise StepFailed("compute", f"sum is {found['sum']}, expected {expected}")
        return found

    def compare_versions(self):
        self.versions = self.run_snippet(SNIPPET_VERSIONS, packages=list(VERSIONED_PACKAGES))
        problems = version_mismatches(self.versions)
        if problems:
            raise StepFailed(
                "versions: notebook, scheduler, worker",
                "user and worker environments differ: " + "; ".join(problems),
                "workers must run the notebook's image or venv (daskhub_gateway_worker_image)",
            )
        return {"notebook": self.versions["notebook"]}

    def dashboard(self):
        link = self.run_snippet(SNIPPET_DASHBOARD)["dashboard_link"]
        # A relative link (Kubernetes) is relative to the hub the browser is on.
        url = urllib.parse.urljoin(self.hub_url + "/", link)
        status = _http_status(url)
        if status != 200:
            raise StepFailed("dashboard", f"{url} answered HTTP {status}")
        return {"link": link, "status": status}

    def manage(self):
        found = self.run_snippet(SNIPPET_MANAGE, timeout=self.params["timeout"])
        name = self.clusters[-1]
        if name not in found["listed"]:
            raise StepFailed("Gateway(): list, connect, stop", f"{name} not in list_clusters(): {found['listed']}")
        if found["connected"] != name:
            raise StepFailed("Gateway(): list, connect, stop", f"connect({name!r}) gave {found['connected']!r}")
        if name in found["left"]:
            raise StepFailed("Gateway(): list, connect, stop", f"{name} still listed after stop_cluster()")
        self.clusters.remove(name)
        return {"listed": found["listed"]}

    # -- the Dask panel -----------------------------------------------------
    def panel_new_cluster(self):
        status, model = self.kernel.request("PUT", "dask/clusters/", {}, timeout=self.params["timeout"])
        if status == 404:
            raise StepFailed(
                "Dask panel: +NEW", f"{self.server_url}dask/clusters/ answered 404: dask-labextension is not installed"
            )
        if status != 200 or not isinstance(model, dict):
            raise StepFailed("Dask panel: +NEW", f"PUT dask/clusters/ answered HTTP {status}: {model}")
        name = str(model.get("scheduler_address", "")).rstrip("/").rsplit("/", 1)[-1]
        self.clusters.append(name)
        listed = self.run_snippet(SNIPPET_LIST)["clusters"]
        if name not in listed:
            raise StepFailed("Dask panel: +NEW", f"the panel's cluster {name!r} is not a gateway cluster: {listed}")
        link = model.get("dashboard_link") or ""
        status, check = self.kernel.request(
            "GET", "dask/dashboard-check/" + urllib.parse.quote(link, safe=""), timeout=self.params["timeout"]
        )
        if status != 200 or not (check or {}).get("isActive"):
            raise StepFailed("Dask panel: +NEW", f"the panel finds no dashboard at {link!r}: HTTP {status} {check}")
        status, _ = self.kernel.request("DELETE", f"dask/clusters/{model['id']}", timeout=self.params["timeout"])
        if status != 204:
            raise StepFailed("Dask panel: +NEW", f"DELETE dask/clusters/{model['id']} answered HTTP {status}")
        self.clusters.remove(name)
        return {"cluster": name, "dashboard_link": link}

    # -- rejections -------------------------------------------------------
    def _expect_rejection(self, step, expected, **options):
        found = self.run_snippet(SNIPPET_REJECTED, options=options)
        if not found["rejected"]:
            raise StepFailed(step, f"the gateway accepted {options}")
        if expected and expected not in found["message"]:
            raise StepFailed(step, f"rejected, but without {expected!r}: {found['message'][:300]}")
        return {"rejected_with": found["message"][:300]}

    def reject_untagged_image(self):
        untagged = self.params["image"].rsplit(":", 1)[0]
        return self._expect_rejection(
            "reject an image without a tag",
            quantities.IMAGE_TAG_ERROR,
            image=untagged,
            worker_cores=self.params["worker_cores"],
            worker_memory=self.params["worker_memory"],
        )

    def reject_too_many_cores(self):
        return self._expect_rejection(
            "reject worker_cores above the maximum", "worker_cores", worker_cores=self.params["worker_cores_max"] + 1
        )

    def reject_bogus_token(self):
        request = urllib.request.Request(  # noqa: S310  the hub's own URL
            f"{self.hub_url}/services/{gateway_model.GATEWAY_SERVICE}/api/v1/clusters/",
            headers={"Authorization": "jupyterhub not-a-valid-token"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as err:
            status = err.code
        if status != 401:
            raise StepFailed("reject a bogus token", f"the gateway answered HTTP {status}, expected 401")
        return {"status": status}

    def run(self):
        hub, gateway, server = self._logs("hub"), self._logs("gateway"), self._server_logs()
        self.step("hub answers", self.hub_answers, f"the hub or its proxy is down: {hub}")
        self.step(
            "start the user's own server",
            self.start_server,
            f"the hub could not start {self.user!r}'s server: {hub}; the verify service's role may lack servers!user",
        )
        self.step("open a kernel in the server", self.open_kernel, f"the user's Jupyter server: {server}")
        self.step("the notebook's environment", self.environment, f"the hub's Spawner.environment: {hub}")
        self.step(
            "GatewayCluster() with the site's default options",
            self.new_cluster,
            "401: the gateway rejected the notebook server's own token: its Spawner.server_token_scopes lack "
            f"access:services!service={gateway_model.GATEWAY_SERVICE}, or the gateway's hub token is wrong; "
            f"other errors: {gateway}",
        )
        self.step(
            "get_client(), scale(1), wait_for_workers(1)",
            self.client_and_worker,
            f"the scheduler or the worker did not start or cannot be reached through the gateway proxy: {gateway}",
        )
        self.step("compute", self.compute, f"the worker: {gateway}")
        self.step("versions: notebook, scheduler, worker", self.compare_versions)
        self.step("dashboard", self.dashboard, f"the gateway's proxy and the hub's route to it: {gateway}")
        self.step("Gateway(): list, connect, stop", self.manage, f"the gateway API: {gateway}")
        self.step("Dask panel: +NEW", self.panel_new_cluster, f"dask-labextension in the user's server: {server}")
        self.step("reject an image without a tag", self.reject_untagged_image, f"the options handler: {gateway}")
        self.step(
            "reject worker_cores above the maximum", self.reject_too_many_cores, f"the options handler: {gateway}"
        )
        self.step("reject a bogus token", self.reject_bogus_token, f"the gateway's authenticator: {gateway}")

    # -- cleanup: whatever happened -----------------------------------------
    def cleanup(self):
        problems = []
        if self.clusters and self.kernel is not None:
            try:
                self.run_snippet(SNIPPET_STOP, names=list(self.clusters))
                self.clusters = []
            except (KernelError, ValueError, OSError) as err:
                problems.append(f"stopping clusters {self.clusters}: {err}")
        if self.kernel is not None:
            self.kernel.shutdown()
        if self.was_running is False:
            try:
                self.hub.stop_server(self.user)
            except HubAPIError as err:
                problems.append(f"stopping the server: {err}")
        return problems


def main():
    module = AnsibleModule(
        argument_spec={
            "hub_url": {"type": "str", "required": True},
            "api_token": {"type": "str", "required": True, "no_log": True},
            "user": {"type": "str", "required": True},
            "worker_cores": {"type": "int", "required": True},
            "worker_memory": {"type": "float", "required": True},
            "worker_cores_max": {"type": "int", "required": True},
            "image": {"type": "str", "required": True},
            "target": {"type": "str", "default": "local", "choices": ["local", "kubernetes"]},
            "log_dir": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 180},
        },
        supports_check_mode=False,
    )
    signal.signal(signal.SIGALRM, _alarm)
    verifier = Verifier(module)
    failure = None
    try:
        verifier.run()
    except StepFailed as err:
        failure = err
    problems = verifier.cleanup()
    result = {"changed": False, "steps": verifier.steps, "cleanup_problems": problems}
    if verifier.versions:
        result["versions"] = verifier.versions
    if failure:
        module.fail_json(msg=str(failure), failed_step=failure.step, **result)
    if problems:
        module.fail_json(msg="verify passed, but cleaning up failed: " + "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
