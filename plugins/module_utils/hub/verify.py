# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Walk a deployed DaskHub's user path: the user's own server, a kernel in it, the site's snippets.

The work of the module daskhub_verify. Each step has a name and a hint (the
part of the stack and where to look); a failure names the step. The code that
runs in the user's kernel is hub/verify_snippets.py, sent as its source with
one call carrying the step's data as JSON: nothing this side holds (the
service token) reaches the kernel.
"""

from __future__ import annotations

import inspect
import json
import signal
import time
import urllib.parse

from ansible_collections.daskhub.deploy.plugins.module_utils.hub import verify_snippets
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api_errors import HubAPIError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import hub_base_url, hub_client
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
MARK = verify_snippets.MARK
VERSIONED_PACKAGES = ("dask", "distributed", "dask_gateway")


class StepFailed(Exception):
    def __init__(self, step, reason, hint=""):
        message = f"verify step '{step}' failed: {reason}"
        if hint:
            message += f" -- {hint}"
        super().__init__(message)
        self.step = step


def snippet_cell(step, source=None, **data):
    """The cell that runs ``step`` of verify_snippets in a kernel: the snippets' source and one call with ``data``."""
    if source is None:
        source = inspect.getsource(verify_snippets)
    if not callable(getattr(verify_snippets, step, None)) or step.startswith("_"):
        raise ValueError(f"verify_snippets has no step {step!r}")
    return f"{source}\nrun_step({step!r}, {json.dumps(data)!r})\n"


def parse_marked(output):
    """The result a snippet printed: its last line after MARK, as JSON."""
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


def _alarm(signum, frame):
    raise TimeoutError("no answer in time (the step hung)")


class Verifier:
    """One walk of the user's path with the module's parameters (the hub connection options and the site's)."""

    def __init__(self, params):
        self.params = params
        self.hub_url = hub_base_url(params["hub_url"])
        self.hub = hub_client(params)
        self.user = params["user"]
        self.snippets = inspect.getsource(verify_snippets)
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

    def run_snippet(self, step, **data):
        cell = snippet_cell(step, self.snippets, **data)
        return parse_marked(self.kernel.execute(cell, timeout=self.params["timeout"]))

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
        self.kernel = KernelSession(
            self.server_url, self.params["hub_token"], timeout=self.params["timeout"], context=self.hub.ssl_context
        )
        return {"kernel": self.kernel.start()}

    def environment(self):
        found = self.run_snippet("environment", variables=list(GATEWAY_VARIABLES))
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
            "new_cluster", worker_cores=self.params["worker_cores"], worker_memory=self.params["worker_memory"]
        )
        self.clusters.append(found["name"])
        return found

    def client_and_worker(self):
        return self.run_snippet("client_and_worker", timeout=self.params["timeout"])

    def compute(self):
        found = self.run_snippet("compute")
        expected = 1_000_000 * (1_000_000 - 1) // 2
        if found["sum"] != expected:
            raise StepFailed("compute", f"sum is {found['sum']}, expected {expected}")
        return found

    def compare_versions(self):
        self.versions = self.run_snippet("versions", packages=list(VERSIONED_PACKAGES))
        problems = version_mismatches(self.versions)
        if problems:
            raise StepFailed(
                "versions: notebook, scheduler, worker",
                "user and worker environments differ: " + "; ".join(problems),
                "workers must run the notebook's image or venv (daskhub_gateway_worker_image)",
            )
        return {"notebook": self.versions["notebook"]}

    def dashboard(self):
        link = self.run_snippet("dashboard")["dashboard_link"]
        # A relative link (Kubernetes) is relative to the hub the browser is on.
        url = urllib.parse.urljoin(self.hub_url + "/", link)
        status = self.hub.status_of(url)
        if status != 200:
            raise StepFailed("dashboard", f"{url} answered HTTP {status}")
        return {"link": link, "status": status}

    def manage(self):
        found = self.run_snippet("manage", timeout=self.params["timeout"])
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
        listed = self.run_snippet("list_clusters")["clusters"]
        if name not in listed:
            raise StepFailed("Dask panel: +NEW", f"the panel's cluster {name!r} is not a gateway cluster: {listed}")
        link = model.get("dashboard_link") or ""
        base = urllib.parse.urlsplit(self.server_url).path
        if link.startswith(base):
            # Through the user's own server (the project's panel extension,
            # plugins/files/notebook/): the panel asks for the plots' index
            # there, with the user's login, as the browser does.
            index = link[len(base) :].removesuffix("status").rstrip("/") + "/individual-plots.json"
            status, plots = self.kernel.request("GET", index, timeout=self.params["timeout"])
            found = status == 200 and bool(plots)
        else:
            status, plots = self.kernel.request(
                "GET", "dask/dashboard-check/" + urllib.parse.quote(link, safe=""), timeout=self.params["timeout"]
            )
            found = status == 200 and bool((plots or {}).get("isActive"))
        if not found:
            raise StepFailed("Dask panel: +NEW", f"the panel finds no dashboard at {link!r}: HTTP {status} {plots}")
        status, _unused = self.kernel.request("DELETE", f"dask/clusters/{model['id']}", timeout=self.params["timeout"])
        if status != 204:
            raise StepFailed("Dask panel: +NEW", f"DELETE dask/clusters/{model['id']} answered HTTP {status}")
        self.clusters.remove(name)
        return {"cluster": name, "dashboard_link": link}

    # -- rejections -------------------------------------------------------
    def _expect_rejection(self, step, expected, **options):
        found = self.run_snippet("rejected", options=options)
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
        status = self.hub.status_of(
            f"{self.hub_url}/services/{gateway_model.GATEWAY_SERVICE}/api/v1/clusters/",
            headers={"Authorization": "jupyterhub not-a-valid-token"},
        )
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
                self.run_snippet("stop", names=list(self.clusters))
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


def verify(params):
    """Walk the user's path and clean up; (result, failure message or None) for the module to report."""
    signal.signal(signal.SIGALRM, _alarm)
    try:
        verifier = Verifier(params)
    except HubAPIError as err:  # a URL or token no hub could take
        return {"changed": False, "steps": [], "cleanup_problems": []}, str(err)
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
        result["failed_step"] = failure.step
        return result, str(failure)
    if problems:
        return result, "verify passed, but cleaning up failed: " + "; ".join(problems)
    return result, None
