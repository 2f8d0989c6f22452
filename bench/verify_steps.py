"""Benchmark of playbooks/verify.yml's steps on a local stack of its own.

Deploys the default inventory into a private prefix with the project's
site.yml (bench/bench_stack.py: own ports from --port-base, own state), runs
verify.yml --runs times, and prints for each step the median and the largest
of its times, then how many runs failed and the wall time of each run. Everything it made is removed at the end.

Goal: no step stalls. A step whose largest time is far above its median
stalled in some run: the rejection steps stalled 10.0 s in 7 of 8 runs, and
hung for good now and then, while dask-gateway's clients were left to the
cycle collector (docs/notebook-users.md, "One Gateway() per notebook").

  .venv/bin/python bench/verify_steps.py [--runs 8] [--port-base 19200] [--repo DIR]

--repo measures another checkout (default: this one), e.g. an older commit:
  git worktree add /tmp/before <rev> && ln -s "$PWD/.venv" /tmp/before/.venv
  .venv/bin/python bench/verify_steps.py --repo /tmp/before
Results are also appended to bench/results/verify.txt.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "bench"))

from bench_stack import Site, task_result  # noqa: E402

# verify.yml's task whose result (the daskhub_verify module's) holds each step's time.
VERIFY_TASK = "Walk the user's path inside the user's own server"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--port-base", type=int, default=19200, help="the stack's five ports from here")
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout to measure")
    args = parser.parse_args()
    repo = args.repo.resolve()
    # The measured checkout's own playbooks.
    stack = Site(repo, args.port_base, "bench-verify")
    busy = stack.busy_ports()
    if busy:
        shutil.rmtree(stack.root, ignore_errors=True)
        sys.exit(f"ports taken: {', '.join(busy)}; choose another --port-base")
    started = time.monotonic()
    proc = stack.playbook("site.yml")
    if proc.returncode != 0:
        stack.purge()
        sys.exit(f"site.yml failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    lines = [f"verify.yml x{args.runs} of {repo}: deployed in {time.monotonic() - started:.0f} s"]
    steps: dict[str, list[float]] = {}
    walls, failed = [], 0
    try:
        for _ in range(args.runs):
            started = time.monotonic()
            proc = stack.playbook("playbooks/verify.yml", env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
            walls.append(time.monotonic() - started)
            result = task_result(proc.stdout, VERIFY_TASK) or {}
            if proc.returncode != 0:
                failed += 1
                lines.append(f"run {len(walls)} failed: {(result.get('msg') or proc.stdout[-300:])[:300]}")
            for step in result.get("steps") or []:
                steps.setdefault(step["step"], []).append(float(step["seconds"]))
    finally:
        stack.purge()
    width = max(map(len, steps), default=4)
    lines.append(f"{'step':<{width}}  median    max  runs")
    for step, seconds in steps.items():
        lines.append(f"{step:<{width}}  {statistics.median(seconds):6.1f} {max(seconds):6.1f}  {len(seconds)}")
    lines.append(f"failed runs: {failed} of {args.runs}; wall per run: {', '.join(f'{wall:.0f}' for wall in walls)} s")
    report = "\n".join(lines)
    print(report)
    results = HERE / "bench" / "results"
    results.mkdir(exist_ok=True)
    with (results / "verify.txt").open("a") as out:
        out.write(time.strftime("%Y-%m-%d %H:%M:%S ") + report + "\n\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
