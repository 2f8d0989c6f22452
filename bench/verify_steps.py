#!/usr/bin/env python3
"""Benchmark of playbooks/verify.yml's steps on a local stack of its own.

Deploys the default inventory into a private prefix (the tests' LocalStack,
own ports and state), runs verify.yml --runs times, and prints for each
step the median and the largest of its times, then how many runs failed and
the wall time of each run. Everything it made is removed at the end.

Goal: no step stalls. A step whose largest time is far above its median
stalled in some run: the rejection steps stalled 10.0 s in 7 of 8 runs, and
hung for good now and then, while dask-gateway's clients were left to the
cycle collector (README, "One Gateway() per notebook").

  .venv/bin/python bench/verify_steps.py [--runs 8] [--repo DIR]

--repo measures another checkout (default: this one), e.g. an older commit:
  git worktree add /tmp/before <rev> && ln -s "$PWD/.venv" /tmp/before/.venv
  .venv/bin/python bench/verify_steps.py --repo /tmp/before
Not beside the test suite: it takes the tests' "private" stack slot.
Results are also appended to bench/results/verify.txt.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
# verify.yml's task whose result (the daskhub_verify module's) holds each step's time.
VERIFY_TASK = "Walk the user's path inside the user's own server"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout to measure")
    args = parser.parse_args()
    repo = args.repo.resolve()
    sys.path[:0] = [str(repo / "tests"), str(repo / ".collections")]
    # The measured checkout's own harness.
    from support.playbooks import run_playbook, task_result  # noqa: PLC0415
    from support.stacks import SLOTS, LocalStack  # noqa: PLC0415

    stack = LocalStack("bench-verify", SLOTS["private"])
    started = time.monotonic()
    stack.deploy()
    lines = [f"verify.yml x{args.runs} of {repo}: deployed in {time.monotonic() - started:.0f} s"]
    steps: dict[str, list[float]] = {}
    walls, failed = [], 0
    try:
        for _ in range(args.runs):
            started = time.monotonic()
            proc = run_playbook(
                "playbooks/verify.yml",
                inventory=stack.inventory,
                extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
                timeout=1800,
            )
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
