# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The code verify runs in the user's kernel, one cell a step, as a user would type it.

hub/verify.py sends this file's source to the kernel with one call,
``run_step("<step>", '<its data as JSON>')``; the step's result comes back as
the cell's last printed line, after MARK. The steps keep what a notebook
keeps between cells (the cluster, its client, the Gateway) in one dict in
the kernel's namespace.

The imports are inside the functions: this file is imported where Dask is
not installed (the host running the module, the unit tests). No
``from __future__`` import either: IPython would keep it for the user's
later cells.
"""

MARK = "DASKHUB-VERIFY:"
STATE = "_daskhub_verify_state"


def run_step(step, data):
    """Run the step ``step`` with the JSON object ``data`` as its arguments; print its result after MARK."""
    import json

    found = globals()[step](**json.loads(data))
    print(MARK + json.dumps(found))


def _state():
    return globals().setdefault(STATE, {})


def environment(variables):
    import os

    import dask

    return {
        "user": os.environ.get("JUPYTERHUB_USER"),
        "uid": os.getuid(),
        "has_server_token": bool(os.environ.get("JUPYTERHUB_API_TOKEN")),
        "gateway": {name: os.environ.get(name, "") for name in variables},
        "labextension_factory": dask.config.get("labextension.factory", default=None),
    }


def new_cluster(worker_cores, worker_memory):
    from dask_gateway import GatewayCluster

    cluster = _state()["cluster"] = GatewayCluster(worker_cores=worker_cores, worker_memory=worker_memory)
    return {"name": cluster.name}


def client_and_worker(timeout):
    cluster = _state()["cluster"]
    client = _state()["client"] = cluster.get_client()
    cluster.scale(1)
    client.wait_for_workers(1, timeout=timeout)
    return {"workers": len(client.scheduler_info()["workers"])}


def compute():
    import dask.array as da

    return {"sum": int(da.arange(1_000_000, chunks=100_000).sum().compute())}


def package_versions(packages):
    """``__version__`` of each package, where this runs (the notebook, the scheduler, a worker)."""
    import importlib

    return {name: importlib.import_module(name).__version__ for name in packages}


def versions(packages):
    client = _state()["client"]
    return {
        "notebook": package_versions(packages),
        "scheduler": client.run_on_scheduler(package_versions, packages),
        "workers": client.run(package_versions, packages),
    }


def dashboard():
    return {"dashboard_link": _state()["cluster"].dashboard_link}


def manage(timeout):
    import time

    from dask_gateway import Gateway

    state = _state()
    cluster, client = state["cluster"], state["client"]
    gateway = state["gateway"] = Gateway()
    listed = [report.name for report in gateway.list_clusters()]
    connected = gateway.connect(cluster.name)
    connected_name = connected.name
    connected.close(shutdown=False)
    gateway.stop_cluster(cluster.name)
    deadline = time.monotonic() + timeout
    while cluster.name in [report.name for report in gateway.list_clusters()] and time.monotonic() < deadline:
        time.sleep(0.5)
    cluster.shutdown()
    client.close()
    return {
        "listed": listed,
        "connected": connected_name,
        "left": [report.name for report in gateway.list_clusters()],
    }


# dask-gateway's clients close themselves in __del__, through their IO loop
# and distributed's LoopRunner lock (a non-reentrant class-level lock). A
# client that only the cycle collector frees (a throwaway Gateway(), or the
# GatewayCluster a rejected new_cluster() leaves in its traceback) may be
# freed inside that loop's thread or inside the next client's LoopRunner
# start, and then waits on itself: the kernel hangs for good. So after the
# manage step the steps reuse the notebook's one Gateway, and a rejection's
# leftovers are collected at once, on the kernel's own thread, holding no
# lock.
def _gateway():
    state = _state()
    if state.get("gateway") is None:
        from dask_gateway import Gateway

        state["gateway"] = Gateway()
    return state["gateway"]


def list_clusters():
    return {"clusters": [report.name for report in _gateway().list_clusters()]}


def rejected(options):
    """Whether the gateway refuses a cluster with ``options``, and its message."""
    import gc

    try:
        cluster = _gateway().new_cluster(**options)
    except Exception as err:  # what the user would see, whatever it is
        found = {"rejected": True, "message": f"{type(err).__name__}: {err}"[:500]}
    else:
        cluster.shutdown()
        del cluster
        found = {"rejected": False}
    gc.collect()
    return found


def stop(names):
    gateway = _gateway()
    for name in names:
        gateway.stop_cluster(name)
    return {"stopped": names}
