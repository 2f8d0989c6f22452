"""Load benchmark: N users through the hub's door, with a hub restart in the middle.

Deploys the default inventory (site.yml, the project's own playbook) into a
stack of its own (temp prefix, state dir, instance name, ports from
--port-base) whose hub users are bench01..benchNN. The users arrive
--arrival seconds apart, each in a thread of its own, and do what a browser's
user does: log in through the hub's login form, start her server, open a
kernel in it and run what a user runs first: GatewayCluster(worker_cores=1,
worker_memory=2), get_client(), one worker, a dask array sum with a known
result, shutdown(). Once half the servers are up, the hub is restarted
(supervisorctl restart jupyterhub, as a config change does): the users whose
servers came up before it open their kernels after it (the case of the bug),
the later ones log in and spawn while it happens or after (a browser's user
reloads: login and spawn are retried until --deadline, the kernel is not).
It reports how many users succeeded, the wall time of the load and each
user's outcome, then removes the stack (playbooks/uninstall.yml -e
purge=true).

Before the servers' output went to log/servers/<user>.log, the users whose
servers predated a restart failed: their new kernels died with the old
hub's stdout pipe. --repo deploys another checkout's playbooks, e.g. one
without that change, to see it.

  .venv/bin/python bench/load_users.py [--users 10] [--arrival 3] [--port-base 19100] [--system-users] [--repo DIR]

Shared-uid mode by default (as root: the services run as the account
daskhub-bench, made for the run and removed after): no host-wide account is
touched. With --system-users each hub user is a system account (removed
after, with its home), and so is the site's verify user, which other stacks
share (kept): run it under the host-wide lock then (flock /tmp/daskhub-accounts.lock ...). Not part of the test
suite; results are appended to bench/results/load_users.txt.

Uses only the project's playbooks and its module_utils (jupyter_kernel's
KernelSession, as verify.yml does), no test helper: the few lines of the
login form and the spawn page are its own.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import pwd
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / ".collections"))
sys.path.insert(0, str(REPO / "bench"))

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.kernel import (  # noqa: E402
    KernelError,
    KernelSession,
)
from bench_stack import TRANSIENT, Site  # noqa: E402

SERVICE_ACCOUNT = "daskhub-bench"
EXPECTED = str(999 * 1000 // 2)
SEED = """\
from dask_gateway import GatewayCluster
import dask.array as da
cluster = GatewayCluster(worker_cores=1, worker_memory=2)
client = cluster.get_client()
cluster.scale(1)
client.wait_for_workers(1, timeout=300)
print(int(da.arange(1000, chunks=100).sum().compute()))
cluster.shutdown()
"""


def account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class User:
    """One user's browser: the hub's cookies, the login form, the spawn page, a kernel."""

    def __init__(self, hub_url: str, name: str, password: str, deadline: float):
        self.hub_url, self.name, self.password, self.deadline = hub_url, name, password, deadline
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _cookie(self, name: str, path_prefix: str) -> str:
        return next((c.value for c in self.jar if c.name == name and c.path.startswith(path_prefix)), "")

    def _open(self, path: str, data: bytes | None = None):
        request = urllib.request.Request(self.hub_url + path, data=data)
        with self.opener.open(request, timeout=60) as response:
            response.read()
            return response.status, response.geturl()

    def _until(self, what: str, attempt):
        """attempt() until it returns a value, retrying what a reload would; KernelError at the deadline."""
        last = None
        while time.monotonic() < self.deadline:
            try:
                result = attempt()
                if result:
                    return result
            except TRANSIENT as err:
                last = repr(err)
            time.sleep(2)
        raise KernelError(f"{what}: not done by the deadline ({last})")

    def login(self) -> None:
        def attempt():
            self._open("/hub/login?next=%2Fhub%2Fhome")
            form = {"username": self.name, "password": self.password, "_xsrf": self._cookie("_xsrf", "/hub")}
            status, url = self._open("/hub/login?next=%2Fhub%2Fhome", urllib.parse.urlencode(form).encode())
            return status == 200 and urllib.parse.urlsplit(url).path == "/hub/home"

        self._until("log in", attempt)

    def start_server(self) -> None:
        def attempt():
            self._open("/hub/spawn")
            status, url = self._open(f"/user/{self.name}/lab")
            return status == 200 and urllib.parse.urlsplit(url).path.startswith(f"/user/{self.name}/")

        self._until("start the server", attempt)

    def kernel(self) -> KernelSession:
        path = f"/user/{self.name}/"
        headers = {
            "X-XSRFToken": self._cookie("_xsrf", path),
            "Cookie": "; ".join(f"{c.name}={c.value}" for c in self.jar if (path + "api/").startswith(c.path)),
        }
        session = KernelSession(self.hub_url + path, headers=headers, timeout=120)
        session.start()
        return session

    def stop_server(self) -> None:
        request = urllib.request.Request(
            f"{self.hub_url}/hub/api/users/{self.name}/server",
            method="DELETE",
            headers={"X-XSRFToken": self._cookie("_xsrf", "/hub")},
        )
        with self.opener.open(request, timeout=120) as response:
            response.read()


class Load:
    """The users' threads and the restart between them."""

    def __init__(self, site: Site, users: list[str], deadline_s: float, restart_after: int, arrival: float):
        self.site, self.users, self.deadline_s, self.restart_after = site, users, deadline_s, restart_after
        self.arrival = arrival
        self.password = site.password()
        self.deadline = time.monotonic() + deadline_s
        self.up: list[str] = []
        self.server_up = threading.Condition()
        self.restarting = threading.Event()
        self.restarted = threading.Event()
        self.restart: dict = {}
        self.results: dict[str, str] = {}

    def restarter(self) -> None:
        with self.server_up:
            self.server_up.wait_for(lambda: len(self.up) >= self.restart_after, timeout=self.deadline_s)
            self.restart["servers up before"] = sorted(self.up)
            self.restarting.set()
        started = time.monotonic()
        old = self.site.ctl("pid", "jupyterhub").stdout.strip()
        self.restart["supervisorctl"] = self.site.ctl("restart", "jupyterhub").stdout.strip()
        while not (self.site.healthy() and self.site.ctl("pid", "jupyterhub").stdout.strip() not in ("", "0", old)):
            time.sleep(1)
        self.restart["seconds"] = round(time.monotonic() - started, 1)
        self.restarted.set()

    def user_flow(self, index: int, name: str) -> None:
        time.sleep(index * self.arrival)
        browser = User(self.site.hub_url, name, self.password, self.deadline)
        kernel = None
        try:
            browser.login()
            browser.start_server()
            with self.server_up:
                if not self.restarting.is_set():
                    when = "server up before the restart"
                elif not self.restarted.is_set():
                    when = "server up during the restart"
                else:
                    when = "server up after the restart"
                self.up.append(name)
                self.server_up.notify_all()
            # The case of the bug: a server that predates the restart opens a new kernel after it.
            self.restarted.wait(timeout=self.deadline_s)
            kernel = browser.kernel()
            printed = kernel.execute(SEED, timeout=max(60.0, self.deadline - time.monotonic()))
            last = printed.strip().splitlines()[-1] if printed.strip() else ""
            outcome = "ok" if last == EXPECTED else f"wrong result {printed[-200:]!r}"
            self.results[name] = f"{outcome} ({when})"
        except Exception as err:  # every failure is a user's result, named in the report
            self.results[name] = f"FAILED: {type(err).__name__}: {str(err)[:300]}"
        finally:
            if kernel is not None:
                kernel.shutdown()
            try:
                browser.stop_server()
            except TRANSIENT as err:
                self.results[name] = self.results.get(name, "FAILED") + f"; stop failed: {err!r}"

    def run(self) -> float:
        """The load's wall time."""
        started = time.monotonic()
        threads = [threading.Thread(target=self.restarter, daemon=True)]
        threads += [threading.Thread(target=self.user_flow, args=item) for item in enumerate(self.users)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.deadline_s + len(self.users) * self.arrival + 300)
        return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--port-base", type=int, default=19100, help="the stack's five ports from here")
    parser.add_argument("--deadline", type=float, default=900, help="seconds the whole load may take")
    parser.add_argument("--system-users", action="store_true", help="a system account per user (see above)")
    parser.add_argument("--arrival", type=float, default=3, help="seconds between two users' arrivals")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose playbooks deploy the stack")
    args = parser.parse_args()
    users = [f"bench{i:02d}" for i in range(1, args.users + 1)]
    overrides = {"daskhub_users": users, "daskhub_local_system_users": args.system_users}
    if not args.system_users:
        overrides["daskhub_local_service_user"] = SERVICE_ACCOUNT
    site = Site(args.repo.resolve(), args.port_base, "bench-load", **overrides)
    busy = site.busy_ports()
    if busy:
        shutil.rmtree(site.root, ignore_errors=True)
        sys.exit(f"ports taken: {', '.join(busy)}; choose another --port-base")
    lines, failures = [], []
    # The role makes the service account, or the users' accounts, when missing; uninstall keeps them.
    # The bench removes those it made (not the verify user's, which other stacks share).
    ours = users if args.system_users else [SERVICE_ACCOUNT]
    made = [name for name in ours if os.geteuid() == 0 and not account_exists(name)]
    try:
        started = time.monotonic()
        proc = site.playbook("site.yml")
        if proc.returncode != 0:
            sys.exit(f"site.yml failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
        lines.append(
            f"{args.users} users arriving {args.arrival:g} s apart, "
            f"{'system accounts' if args.system_users else 'shared uid'}, "
            f"deployed from {site.repo} in {time.monotonic() - started:.0f} s"
        )
        load = Load(site, users, args.deadline, max(1, args.users // 2), args.arrival)
        wall = load.run()
        results, restart = load.results, load.restart
        if any(not outcome.startswith("ok") for outcome in results.values()):
            # The stack goes with the run: what its services said about the failures goes in the report.
            for name in ("dask-gateway.log", "jupyterhub.log"):
                log = site.prefix / "log" / name
                tail = log.read_text(errors="replace").splitlines()[-25:] if log.exists() else []
                failures.append(f"--- the last lines of log/{name}:\n" + "\n".join(tail))
    finally:
        site.purge()
        for name in made:
            if account_exists(name):
                # -r: a user's account comes with a home of its own.
                subprocess.run(["userdel", *(["-r"] if args.system_users else []), name], check=False)
    succeeded = sum(outcome.startswith("ok") for outcome in results.values())
    lines.append(f"hub restart: {json.dumps(restart)}")
    lines += [f"  {name}: {results.get(name, 'FAILED: did not finish')}" for name in users]
    lines.append(f"succeeded: {succeeded} of {args.users}; wall time of the load: {wall:.0f} s")
    lines += failures
    report = "\n".join(lines)
    print(report)
    results_dir = REPO / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    with (results_dir / "load_users.txt").open("a") as out:
        out.write(time.strftime("%Y-%m-%d %H:%M:%S ") + report + "\n\n")
    return 0 if succeeded == args.users else 1


if __name__ == "__main__":
    sys.exit(main())
