#!/usr/bin/env python3
"""The cost of Prometheus' scrape on the hub: time of N GETs of /hub/metrics, and the hub's CPU seconds
over a period without scraping and with a scrape every --interval seconds.

Runs against a deployed local stack with monitoring on (daskhub_monitoring_enabled):

  .venv/bin/python bench/hub_metrics.py --hub-api http://127.0.0.1:8081 \\
      --token-file /opt/daskhub/state/prometheus-hub-token --pid "$(supervisorctl ... pid jupyterhub)"

The token is Prometheus' own (read:metrics only), read from its 0600 file and never printed.
Prometheus itself keeps scraping meanwhile: stop it (supervisorctl stop prometheus) for a clean baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import urllib.request
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its waited-for children, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def scrape(url: str, token: str) -> float:
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub-api", required=True, help="the hub's own URL, e.g. http://127.0.0.1:8081")
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the hub's process id")
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--period", type=float, default=30.0, help="seconds of each CPU measurement")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes in the period")
    args = parser.parse_args()
    token = Path(args.token_file).read_text().strip()
    url = args.hub_api.rstrip("/") + "/hub/metrics"
    times = sorted(scrape(url, token) for _ in range(args.gets))
    print(
        f"{args.gets} GETs of /hub/metrics: median {statistics.median(times) * 1000:.1f} ms, "
        f"p95 {times[int(len(times) * 0.95) - 1] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms"
    )
    before = cpu_seconds(args.pid)
    time.sleep(args.period)
    idle = cpu_seconds(args.pid) - before
    before, deadline = cpu_seconds(args.pid), time.monotonic() + args.period
    scrapes = 0
    while time.monotonic() < deadline:
        scrape(url, token)
        scrapes += 1
        time.sleep(args.interval)
    busy = cpu_seconds(args.pid) - before
    print(
        f"hub CPU over {args.period:.0f}s: {idle:.2f}s without, {busy:.2f}s with {scrapes} scrapes "
        f"({(busy - idle) / max(scrapes, 1) * 1000:.1f} ms of CPU a scrape)"
    )


if __name__ == "__main__":
    main()
