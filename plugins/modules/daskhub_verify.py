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
  - O(hub_token) is the token of the hub service C(daskhub-verify), which may start, stop and open
    O(user)'s server; the kernel runs with the server's own token, never with it.
version_added: 0.1.0
author: DaskHub deployer maintainers (!UNKNOWN)
extends_documentation_fragment:
  - daskhub.deploy.hub_connection.url
  - daskhub.deploy.hub_connection
options:
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
    hub_token: "{{ daskhub_secrets.service_daskhub_verify_api_token }}"
    user: alice
    worker_cores: 1
    worker_memory: 2
    worker_cores_max: 4
    image: pangeo/base-notebook:2024.01.15
"""

RETURN = r"""
steps:
  description:
    - The steps that passed, in order, each C({step, seconds, result}); C(result) is what the step found.
  returned: always
  type: list
  elements: dict
  sample:
    - {step: hub answers, seconds: 0.1, result: {jupyterhub: 5.5.4}}
    - step: start the user's own server
      seconds: 4.2
      result: {url: "http://127.0.0.1:8000/user/alice/", was_running: false}
    - {step: open a kernel in the server, seconds: 1.3, result: {kernel: 0b9d1c2e-5f4a-4e0b-8d6c-1a2b3c4d5e6f}}
    - {step: reject a bogus token, seconds: 0.0, result: {status: 401}}
versions:
  description: dask, distributed and dask-gateway versions in the notebook, the scheduler and each worker (by address).
  returned: when the cluster got a worker
  type: dict
  sample:
    notebook: {dask: 2026.8.0, distributed: 2026.8.0, dask_gateway: 2026.3.0}
    scheduler: {dask: 2026.8.0, distributed: 2026.8.0, dask_gateway: 2026.3.0}
    workers:
      "tls://127.0.0.1:40123": {dask: 2026.8.0, distributed: 2026.8.0, dask_gateway: 2026.3.0}
failed_step:
  description: The name of the step that failed.
  returned: failure of a step
  type: str
  sample: GatewayCluster() with the site's default options
cleanup_problems:
  description: What could not be cleaned up (a cluster left running, the server left started); empty when all was.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.connection import HUB_CONNECTION_SPEC
from ansible_collections.daskhub.deploy.plugins.module_utils.hub.verify import verify
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork, result_or_failure

ARGUMENT_SPEC = {
    **HUB_CONNECTION_SPEC,
    "user": {"type": "str", "required": True},
    "worker_cores": {"type": "int", "required": True},
    "worker_memory": {"type": "float", "required": True},
    "worker_cores_max": {"type": "int", "required": True},
    "image": {"type": "str", "required": True},
    "target": {"type": "str", "default": "local", "choices": ["local", "kubernetes"]},
    "log_dir": {"type": "str", "default": ""},
    "timeout": {"type": "int", "default": 180},
}


MODULE_WORK = ModuleWork(
    ARGUMENT_SPEC,
    lambda module: result_or_failure(verify(module.params)),
    options={"supports_check_mode": False},
)


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
