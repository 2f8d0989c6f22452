"""Benchmark of the user sync against a real local JupyterHub.

Desired: 5,000 users. The hub has 4,750 of them plus 250 others, and 10
admin flags differ. So a sync adds 250, removes 250 and flips 10 flags.

  (a) daskhub.deploy.jupyterhub_users as one ansible-playbook task
  (b) a per-user ansible.builtin.uri loop making the same changes (the
      change lists are handed to it precomputed, so (b) is a lower bound)
  (c) the floor: a short Python script making the same minimal requests
  (d) (a) again, with nothing left to change
  and an empty play, for Ansible's fixed start-up.

Goals: (a - start-up)/c <= 1.5, b/a >= 30, d < 5 s + start-up.

  .venv/bin/python bench/user_sync.py [--hub-version 5.5.4] [--repeat 2] [--json out.json]

(a) and (c) run --repeat times, alternating, and the medians are used: the
test machines are shared and single runs are noisy. Plays run with
-i localhost, so no site inventory is parsed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.api import HubClient  # noqa: E402
from support.hubs import HUB_ADMIN, Hub  # noqa: E402

ANSIBLE_PLAYBOOK = str(REPO / ".venv/bin/ansible-playbook")
PARALLELISM = 8

# The floor: the same requests the module makes (paginated GET, one bulk
# POST, PATCHes and DELETEs with the same parallelism), nothing else.
FLOOR = r"""
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
api, token, spec = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
H = {"Authorization": "token " + token, "Content-Type": "application/json"}
def call(method, path, body=None, accept="application/json"):
    req = urllib.request.Request(api + path, method=method, headers={**H, "Accept": accept},
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req) as r:
        raw = r.read()
    return json.loads(raw) if raw else None
current, offset = {}, 0
while True:
    page = call("GET", f"/users?offset={offset}&limit=200", accept="application/jupyterhub-pagination+json")
    current.update({u["name"]: u["admin"] for u in page["items"]})
    if not page["_pagination"]["next"]:
        break
    offset = page["_pagination"]["next"]["offset"]
desired, admins, keep = set(spec["users"]), set(spec["admins"]), set(spec["protected"])
add = sorted(desired - current.keys())
remove = sorted(current.keys() - desired - keep)
flips = {n: n in admins for n, a in current.items() if n in desired and a != (n in admins) and n not in keep}
if add:
    call("POST", "/users", {"usernames": add})
with ThreadPoolExecutor(8) as pool:
    list(pool.map(lambda n: call("PATCH", f"/users/{n}", {"admin": flips[n]}), flips))
    list(pool.map(lambda n: call("DELETE", f"/users/{n}"), remove))
print(len(add), len(remove), len(flips))
"""


def desired_state():
    users = [f"user{i:05d}" for i in range(5000)]
    admins = users[:20]
    return users, admins


def start_state():
    users, _ = desired_state()
    state = {name: False for name in users[:4750]}
    state.update({f"other{i:04d}": False for i in range(250)})
    # 5 desired admins are not admins yet, 5 admins should not be.
    for name in users[5:20] + users[20:25]:
        state[name] = True
    state[HUB_ADMIN] = True
    return state


def converge(client, target):
    """Bring the hub to `target` ({name: admin}) with the admin token."""
    current = {u["name"]: bool(u.get("admin")) for u in client.list_users()}
    missing = [n for n in target if n not in current]
    extra = [n for n in current if n not in target]
    for admin in (False, True):
        names = [n for n in missing if target[n] is admin]
        for i in range(0, len(names), 1000):
            client.create_users(names[i : i + 1000], admin=admin)
    client.delete_users(extra)
    flips = {n: target[n] for n in target if n in current and current[n] != target[n]}
    client.set_admins(flips)
    after = {u["name"]: bool(u.get("admin")) for u in client.list_users()}
    if after != target:
        raise SystemExit("bench set-up failed: the hub did not reach the start state")


def timed(cmd, env=None, cwd=REPO):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def uri_play():
    """One ansible.builtin.uri task per change, looping over precomputed lists."""
    uri = {"headers": {"Authorization": "token {{ token }}"}, "body_format": "json"}

    def loop_task(name, method, url, items, status, body=None):
        args = {**uri, "url": "{{ api_url }}/users/" + url, "method": method, "status_code": [status]}
        if body:
            args["body"] = body
        return {"name": name, "ansible.builtin.uri": args, "loop": "{{ " + items + " }}", "changed_when": True}

    tasks = [
        loop_task("Add", "POST", "{{ item }}", "add", 201),
        loop_task("Flip", "PATCH", "{{ item.name }}", "flips", 200, {"admin": "{{ item.admin }}"}),
        loop_task("Remove", "DELETE", "{{ item }}", "remove", 204),
    ]
    play = {"name": "Per-user uri", "hosts": "localhost", "connection": "local", "gather_facts": False}
    return [{**play, "tasks": tasks}]


def write(path, data):
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def main():  # noqa: PLR0915  one linear script: set up, measure, report
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hub-version", default="5.5.4")
    parser.add_argument("--repeat", type=int, default=2, help="runs of (a) and (c), alternating; medians are used")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    users, admins = desired_state()
    start = start_state()
    work = Path(tempfile.mkdtemp(prefix="bench-user-sync-"))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    playbook = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-e", "ansible_python_interpreter=" + sys.executable]
    hub = Hub(args.hub_version).start()
    try:
        admin = HubClient(hub.api_url, hub.tokens["test-admin"], parallelism=PARALLELISM)
        print(f"JupyterHub {args.hub_version} at {hub.api_url}; setting up {len(start)} users ...", flush=True)
        t0 = time.perf_counter()
        converge(admin, start)
        print(f"  set-up took {time.perf_counter() - t0:.1f}s", flush=True)
        spec = {"users": users, "admins": admins, "protected": [HUB_ADMIN]}
        vars_file = write(
            work / "vars.json",
            {"api_url": hub.api_url, "token": hub.token, **spec},
        )
        play_a = write(
            work / "module.yml",
            json.dumps(
                [
                    {
                        "name": "Sync",
                        "hosts": "localhost",
                        "connection": "local",
                        "gather_facts": False,
                        "tasks": [
                            {
                                "name": "Sync users",
                                "daskhub.deploy.jupyterhub_users": {
                                    "hub_url": "{{ api_url }}",
                                    "hub_token": "{{ token }}",
                                    "users": "{{ users }}",
                                    "admins": "{{ admins }}",
                                    "exclusive": True,
                                    "protected_users": "{{ protected }}",
                                    "parallelism": PARALLELISM,
                                },
                            }
                        ],
                    }
                ]
            ),
        )
        empty_play = [{"name": "Empty", "hosts": "localhost", "connection": "local", "gather_facts": False}]
        empty = write(work / "empty.yml", empty_play)

        startups = [timed([*playbook, str(empty)], env)[0] for _ in range(3)]
        startup = statistics.median(startups)
        print(f"start-up (empty play, median of 3): {startup:.2f}s", flush=True)

        spec_file = write(work / "spec.json", spec)
        floor_py = write(work / "floor.py", FLOOR)
        c_runs, a_runs = [], []
        for _ in range(args.repeat):
            c_run, out = timed([sys.executable, str(floor_py), hub.api_url, hub.token, str(spec_file)])
            c_runs.append(c_run)
            print(f"(c) floor script: {c_run:.2f}s (add/remove/flip: {out.strip()})", flush=True)
            converge(admin, start)
            a_run, out = timed([*playbook, str(play_a), "-e", f"@{vars_file}"], env)
            a_runs.append(a_run)
            stats = json.loads(out)["stats"]["localhost"]
            print(f"(a) module task: {a_run:.2f}s (changed={stats['changed']})", flush=True)
            if len(a_runs) < args.repeat:
                converge(admin, start)
        a, c = statistics.median(a_runs), statistics.median(c_runs)
        d, out = timed([*playbook, str(play_a), "-e", f"@{vars_file}"], env)
        stats_d = json.loads(out)["stats"]["localhost"]
        print(f"(d) module, nothing to change: {d:.2f}s (changed={stats_d['changed']})", flush=True)
        if stats["changed"] != 1 or stats_d["changed"] != 0:
            raise SystemExit("the module run did not change once and then nothing")
        converge(admin, start)

        # (b): one uri task per change, the lists computed here.
        current = start
        add = sorted(set(users) - current.keys())
        remove = sorted(current.keys() - set(users) - {HUB_ADMIN})
        flips = [
            {"name": n, "admin": n in admins}
            for n, is_admin in sorted(current.items())
            if n in set(users) and is_admin != (n in admins)
        ]
        play_b = write(work / "uri.yml", json.dumps(uri_play()))
        b_vars = write(
            work / "b.json", {"api_url": hub.api_url, "token": hub.token, "add": add, "remove": remove, "flips": flips}
        )
        print(f"(b) uri loop over {len(add) + len(remove) + len(flips)} changes, this takes a while ...", flush=True)
        b, _ = timed([*playbook, str(play_b), "-e", f"@{b_vars}"], env)
        after = {u["name"]: bool(u.get("admin")) for u in admin.list_users()}
        target = {n: n in admins for n in users}
        target[HUB_ADMIN] = True
        if after != target:
            raise SystemExit("the uri loop did not reach the desired state")
        print(f"(b) uri loop: {b:.2f}s", flush=True)
    finally:
        hub.stop()

    a_net = a - startup
    figures = {
        "hub_version": args.hub_version,
        "startup_s": round(startup, 2),
        "a_module_s": round(a, 2),
        "a_runs_s": [round(x, 2) for x in a_runs],
        "c_runs_s": [round(x, 2) for x in c_runs],
        "b_uri_loop_s": round(b, 2),
        "c_floor_s": round(c, 2),
        "d_noop_s": round(d, 2),
        "a_minus_startup_over_c": round(a_net / c, 2),
        "b_over_a": round(b / a, 1),
        "d_minus_startup_s": round(d - startup, 2),
    }
    print()
    print(f"start-up {startup:.2f}s | (a) {a:.2f}s | (b) {b:.2f}s | (c) {c:.2f}s | (d) {d:.2f}s")
    print(f"(a - start-up)/c = {a_net:.2f}/{c:.2f} = {a_net / c:.2f}   goal <= 1.5")
    print(f"b/a = {b / a:.1f}   goal >= 30")
    print(f"d = {d:.2f}s = start-up + {d - startup:.2f}s   goal: start-up + < 5s")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
