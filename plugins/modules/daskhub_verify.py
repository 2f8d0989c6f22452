#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Runs the documented DaskHub usage for real, step by step."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daskhub_verify
short_description: Check a deployed DaskHub end to end, as its users use it
description:
  - Runs against the hub's public URL, so it works for either target.
  - Through a hub service that may only manage the test user's tokens and
    server, makes a short-lived token for that user; starts the user's server
    through the API, checks it got the four C(DASK_GATEWAY__*) variables (the
    process environment on the local target, the pod spec on Kubernetes) and
    stops it.
  - Then, as that user, C(Gateway(<hub>/services/dask-gateway, auth=jupyterhub)),
    C(new_cluster(worker_cores=1, worker_memory=2, image=...)), C(get_client()),
    C(scale(2)), a computation on a dask array, the dashboard (HTTP 200),
    C(list_clusters()), C(connect()), C(shutdown()), and C(stop_cluster) on
    anything left until no cluster is left.
  - Checks the rejections - an image without a tag gets the options handler's
    message, worker_cores above the maximum is refused, a bogus token gets 401.
  - Fails with a message that names the step that broke. The token it made is
    revoked, the server stopped and clusters stopped, whatever happened.
  - Needs the C(dask-gateway), C(distributed) and C(dask[array]) packages in
    the interpreter that runs it (on the local target, the stack's venv).
version_added: 0.1.0
author: DaskHub deployer maintainers
options:
  hub_url:
    description: Public URL of the hub, without C(/hub).
    type: str
    required: true
  api_token:
    description: Token of the hub service that may manage I(user)'s tokens and server.
    type: str
    required: true
  user:
    description: Hub user to test as.
    type: str
    required: true
  image:
    description: Worker image to ask for (with a tag); its name without the tag is the rejection test.
    type: str
    required: true
  worker_cores_max:
    description: The options handler's maximum of worker_cores; max + 1 must be refused.
    type: int
    required: true
  proxy_address:
    description:
      - Scheduler proxy (C(gateway://host:port)) as seen from where this runs.
      - Empty means the client's default (the gateway address's host and port).
    type: str
    default: ""
  target:
    description: Where the server's environment is checked - the process (C(local)) or the pod (C(kubernetes)).
    type: str
    choices: [local, kubernetes]
    default: local
  namespace:
    description: Kubernetes namespace of the hub (target kubernetes).
    type: str
    default: daskhub
  timeout:
    description: Seconds each waiting step may take.
    type: int
    default: 180
attributes:
  check_mode:
    support: none
    description: It starts servers and clusters; in check mode it does nothing.
notes:
  - Reads other processes' environments on the local target, so run it as the user that runs the services.
"""

EXAMPLES = r"""
- name: Verify the site
  daskhub.deploy.daskhub_verify:
    hub_url: http://127.0.0.1:8000
    api_token: "{{ daskhub_secrets.service_daskhub_verify_api_token }}"
    user: alice
    image: pangeo/base-notebook:2020.11.06
    worker_cores_max: 4
    proxy_address: gateway://127.0.0.1:8002
  vars:
    ansible_python_interpreter: /opt/daskhub/venv/bin/python
"""

RETURN = r"""
steps:
  description: The steps that passed, in order, with what each found.
  returned: always
  type: list
  elements: dict
cluster_name:
  description: Name of the cluster the run created.
  returned: when a cluster was created
  type: str
"""

import gc
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule

try:
    import dask.array as da
    from dask_gateway import Gateway
    from dask_gateway.auth import JupyterHubAuth
except ImportError:
    HAS_DASK_GATEWAY = False
else:
    HAS_DASK_GATEWAY = True

from ansible_collections.daskhub.deploy.plugins.module_utils import site_model
from ansible_collections.daskhub.deploy.plugins.module_utils.jupyterhub_api import HubAPIError, HubClient

GATEWAY_VARIABLES = (
    "DASK_GATEWAY__ADDRESS",
    "DASK_GATEWAY__PROXY_ADDRESS",
    "DASK_GATEWAY__PUBLIC_ADDRESS",
    "DASK_GATEWAY__AUTH__TYPE",
)


def _alarm(signum, frame):
    raise TimeoutError("no answer in time (the step hung)")


class StepFailed(Exception):
    def __init__(self, step, reason):
        super().__init__(f"verify step '{step}' failed: {reason}")
        self.step = step


def _http_status(request):
    """The HTTP status a request gets, error statuses included."""
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  URLs from the gateway
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def process_environment(user):
    """Environment of the single-user server process of ``user`` (local target)."""
    for pid in sorted((entry for entry in os.listdir("/proc") if entry.isdigit()), key=int):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        env = dict(item.split("=", 1) for item in raw.decode("utf-8", "replace").split("\0") if "=" in item)
        if (
            env.get("JUPYTERHUB_USER") == user
            and env.get("JUPYTERHUB_SERVER_NAME", "") == ""
            and ("JUPYTERHUB_API_TOKEN" in env)
        ):
            return pid, env
    return None, None


def pod_environment(user, namespace):
    """Environment of the notebook container of ``user``'s pod (kubernetes target)."""
    out = subprocess.run(
        [
            "kubectl",
            "get",
            "pods",
            "-n",
            namespace,
            "-o",
            "json",
            "-l",
            f"component=singleuser-server,hub.jupyter.org/username={user}",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    items = json.loads(out).get("items") or []
    if not items:
        return None, None
    pod = items[0]
    env = {}
    for container in pod["spec"]["containers"]:
        for item in container.get("env") or []:
            env[item["name"]] = item.get("value", "")
    return pod["metadata"]["name"], env


class Verifier:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.hub_url = self.params["hub_url"].rstrip("/")
        self.address = self.hub_url + "/services/" + site_model.GATEWAY_SERVICE
        self.hub = HubClient(self.hub_url + "/hub/api", self.params["api_token"])
        self.user = self.params["user"]
        self.steps = []
        self.token = None
        self.token_id = None
        self.gateway = None
        self.cluster_name = None
        self.server_started = False

    def step(self, name, func):
        started = time.monotonic()
        # A hung client call must still end in a failure that names the step.
        signal.alarm(self.params["timeout"] + 60)
        try:
            detail = func()
        except StepFailed:
            raise
        except Exception as err:  # every failure becomes a named step failure
            raise StepFailed(name, f"{type(err).__name__}: {err}") from err
        finally:
            signal.alarm(0)
        self.steps.append({"step": name, "seconds": round(time.monotonic() - started, 1), "result": detail})

    # -- hub ---------------------------------------------------------------
    def make_token(self):
        answer = self.hub.create_token(
            self.user,
            note="daskhub.deploy verify",
            expires_in=3600,
            # Only what a notebook user needs to use the gateway.
            scopes=[f"access:services!service={site_model.GATEWAY_SERVICE}", f"read:users:name!user={self.user}"],
        )
        self.token, self.token_id = answer["token"], answer["id"]
        self.module.no_log_values.add(self.token)
        return {"token_id": self.token_id, "scopes": answer.get("scopes")}

    def start_server(self):
        self.server_started = True
        status = self.hub.start_server(self.user)
        server = self.hub.wait_for_server(self.user, timeout=self.params["timeout"])
        return {"status": status, "url": (server or {}).get("url")}

    def server_environment(self):
        if self.params["target"] == "local":
            where, env = process_environment(self.user)
        else:
            where, env = pod_environment(self.user, self.params["namespace"])
        if env is None:
            raise StepFailed("server environment", f"no running single-user server of {self.user!r} found")
        missing = [name for name in GATEWAY_VARIABLES if not env.get(name)]
        if missing:
            raise StepFailed("server environment", f"{where} lacks {', '.join(missing)}")
        if env["DASK_GATEWAY__AUTH__TYPE"] != "jupyterhub":
            raise StepFailed("server environment", f"DASK_GATEWAY__AUTH__TYPE is {env['DASK_GATEWAY__AUTH__TYPE']!r}")
        return {"where": str(where), **{name: env[name] for name in GATEWAY_VARIABLES}}

    def stop_server(self):
        status = self.hub.stop_server(self.user)
        self.hub.wait_for_server(self.user, ready=False, timeout=self.params["timeout"])
        self.server_started = False
        return {"status": status}

    # -- gateway -----------------------------------------------------------
    def _gateway(self, token):
        kwargs = {"address": self.address, "auth": JupyterHubAuth(api_token=token)}
        if self.params["proxy_address"]:
            kwargs["proxy_address"] = self.params["proxy_address"]
        return Gateway(**kwargs)

    def new_cluster(self):
        self.gateway = self._gateway(self.token)
        self.cluster = self.gateway.new_cluster(worker_cores=1, worker_memory=2, image=self.params["image"])
        self.cluster_name = self.cluster.name
        self.client = self.cluster.get_client()
        self.cluster.scale(2)
        self.client.wait_for_workers(2, timeout=self.params["timeout"])
        return {"cluster": self.cluster_name, "workers": len(self.client.scheduler_info()["workers"])}

    def compute(self):
        array = da.arange(1_000_000, chunks=100_000)
        total = int(self.client.compute(array.sum()).result(timeout=self.params["timeout"]))
        expected = 1_000_000 * (1_000_000 - 1) // 2
        if total != expected:
            raise StepFailed("compute", f"sum is {total}, expected {expected}")
        return {"sum": total}

    def dashboard(self):
        link = self.cluster.dashboard_link
        status = _http_status(urllib.request.Request(link))  # noqa: S310  the gateway's own http(s) link
        if status != 200:
            raise StepFailed("dashboard", f"{link} answered HTTP {status}")
        return {"link": link, "status": status}

    def list_connect_shutdown(self):
        names = [report.name for report in self.gateway.list_clusters()]
        if self.cluster_name not in names:
            raise StepFailed("list, connect, shutdown", f"{self.cluster_name} not in list_clusters(): {names}")
        self.client.close()
        self.cluster.close(shutdown=False)
        connected = self.gateway.connect(self.cluster_name)
        connected.shutdown()
        return {"listed": names}

    def no_cluster_left(self):
        stopped = []
        for report in self.gateway.list_clusters():
            self.gateway.stop_cluster(report.name)
            stopped.append(report.name)
        left = [report.name for report in self.gateway.list_clusters()]
        if left:
            raise StepFailed("no cluster left", f"still running after stop_cluster: {left}")
        return {"stopped_leftovers": stopped}

    def _expect_rejection(self, step, expected, **options):
        try:
            cluster = self.gateway.new_cluster(**options)
        except Exception as err:  # the rejection is the point
            message = str(err)
            if expected and expected not in message:
                raise StepFailed(step, f"rejected, but without {expected!r}: {message[:300]}") from err
            return {"rejected_with": message[:300]}
        cluster.shutdown()
        raise StepFailed(step, f"the gateway accepted {options}")

    def reject_untagged_image(self):
        untagged = self.params["image"].rsplit(":", 1)[0]
        return self._expect_rejection(
            "reject image without tag", site_model.IMAGE_TAG_ERROR, image=untagged, worker_cores=1, worker_memory=2
        )

    def reject_too_many_cores(self):
        return self._expect_rejection(
            "reject worker_cores above the maximum", "worker_cores", worker_cores=self.params["worker_cores_max"] + 1
        )

    def reject_bogus_token(self):
        request = urllib.request.Request(  # noqa: S310
            self.address + "/api/v1/clusters/", headers={"Authorization": "jupyterhub not-a-valid-token"}
        )
        status = _http_status(request)
        if status != 401:
            raise StepFailed("reject bogus token", f"the gateway answered HTTP {status}, expected 401")
        return {"status": status}

    # -- cleanup -----------------------------------------------------------
    def cleanup(self):
        problems = []
        if self.gateway is not None:
            try:
                for report in self.gateway.list_clusters():
                    self.gateway.stop_cluster(report.name)
            except Exception as err:  # cleanup reports, never hides the real failure
                problems.append(f"stopping clusters: {err}")
            self.gateway.close()
        if self.server_started:
            try:
                self.hub.stop_server(self.user)
            except HubAPIError as err:
                problems.append(f"stopping the server: {err}")
        if self.token_id:
            try:
                self.hub.revoke_token(self.user, self.token_id)
            except HubAPIError as err:
                problems.append(f"revoking the token: {err}")
        return problems

    def run(self):
        self.step("hub token for the test user", self.make_token)
        self.step("start the user's server", self.start_server)
        self.step("server environment", self.server_environment)
        self.step("stop the user's server", self.stop_server)
        self.step("new cluster, client, scale(2)", self.new_cluster)
        self.step("compute", self.compute)
        self.step("dashboard", self.dashboard)
        self.step("list, connect, shutdown", self.list_connect_shutdown)
        self.step("no cluster left", self.no_cluster_left)
        self.step("reject image without tag", self.reject_untagged_image)
        self.step("reject worker_cores above the maximum", self.reject_too_many_cores)
        self.step("reject bogus token", self.reject_bogus_token)


def main():
    module = AnsibleModule(
        argument_spec={
            "hub_url": {"type": "str", "required": True},
            "api_token": {"type": "str", "required": True, "no_log": True},
            "user": {"type": "str", "required": True},
            "image": {"type": "str", "required": True},
            "worker_cores_max": {"type": "int", "required": True},
            "proxy_address": {"type": "str", "default": ""},
            "target": {"type": "str", "default": "local", "choices": ["local", "kubernetes"]},
            "namespace": {"type": "str", "default": "daskhub"},
            "timeout": {"type": "int", "default": 180},
        },
        supports_check_mode=False,
    )
    if not HAS_DASK_GATEWAY:
        module.fail_json(
            msg="verify needs the dask-gateway client: run it with the local stack's venv python, "
            "or install dask-gateway, distributed and dask[array] where it runs"
        )
    # The dask-gateway client closes a garbage-collected Gateway synchronously
    # on its IO loop; a cyclic collection that happens to run on that loop's
    # thread then deadlocks. Collect only here, on the main thread.
    gc.disable()
    signal.signal(signal.SIGALRM, _alarm)
    verifier = Verifier(module)
    failure = None
    try:
        verifier.run()
    except StepFailed as err:
        failure = err
    problems = verifier.cleanup()
    gc.collect()
    # Nothing is left behind: token revoked, server and clusters stopped.
    result = {"changed": False, "steps": verifier.steps, "cleanup_problems": problems}
    if verifier.cluster_name:
        result["cluster_name"] = verifier.cluster_name
    if failure:
        module.fail_json(msg=str(failure), failed_step=failure.step, **result)
    if problems:
        module.fail_json(msg="verify passed, but cleaning up failed: " + "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
