"""The dask_gateway client a user runs from outside the hub, as the deploy summary prints it.

Run by the stack's own Python (``LocalStack.gateway``) with the user's token
in JUPYTERHUB_API_TOKEN: ``python gateway_client.py ADDRESS PROXY ACTION [NAME]``.
Actions: ``new`` (a cluster with one worker, left running; prints its name),
``list`` (the user's cluster names, one a line), ``stop NAME``, and
``try-new`` (prints ``started NAME`` or ``refused ERROR``, for an account
the gateway must turn away).
"""

from __future__ import annotations

import sys

from dask_gateway import Gateway


def main(address, proxy_address, action, *names):
    gateway = Gateway(address, proxy_address=proxy_address, auth="jupyterhub")
    if action == "new":
        cluster = gateway.new_cluster(shutdown_on_close=False)
        cluster.scale(1)
        cluster.get_client().wait_for_workers(1, timeout=120)
        print(cluster.name)
    elif action == "list":
        for cluster in gateway.list_clusters():
            print(cluster.name)
    elif action == "stop":
        for name in names:
            gateway.stop_cluster(name)
    elif action == "try-new":
        try:
            cluster = gateway.new_cluster()
        except Exception as error:
            # Any refusal is the answer, named by its type.
            print("refused", type(error).__name__)
        else:
            print("started", cluster.name)
            cluster.shutdown()
    else:
        sys.exit(f"unknown action {action!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
