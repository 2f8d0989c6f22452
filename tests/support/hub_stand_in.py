"""A stand-in hub for the service guard's test: it starts one managed service as JupyterHub does.

Run as ``python hub_stand_in.py COMMAND [ARG ...]``: it starts COMMAND in a
session of its own (JupyterHub's spawner: Popen with start_new_session),
prints the service's pid, then waits to be killed.
"""

from __future__ import annotations

import subprocess
import sys
import time

if __name__ == "__main__":
    service = subprocess.Popen(sys.argv[1:], start_new_session=True)
    print(service.pid, flush=True)
    time.sleep(300)
