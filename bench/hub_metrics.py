"""The cost of Prometheus' scrape on the hub (issue 21's closing note), on a stack of its own.

Deploys the default inventory with daskhub_monitoring_enabled into a private
prefix (bench/bench_stack.py, ports from --port-base), stops its Prometheus,
then measures with Prometheus' own token (read:metrics; read from its 0600
file, never printed):

- the time of --gets GETs of /hub/metrics, one after the other;
- the hub's CPU seconds (utime + stime from /proc, the hub and the children it waited for)
  over --period seconds without any scrape, then with a scrape every --interval seconds.

  .venv/bin/python bench/hub_metrics.py [--gets 200] [--period 60] [--interval 15] [--port-base 19300]

Run it under the tests' lock when they may run (flock /tmp/daskhub-accounts.lock ...).
Everything it made is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stack import Site

REPO = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def scrape(url: str, token: str) -> float:
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def measure(site: Site, gets: int, period: float, interval: float) -> list[str]:
    token = (site.prefix / "state/prometheus-hub-token").read_text().strip()
    url = f"http://127.0.0.1:{site.ports['daskhub_local_hub_api_port']}/hub/metrics"
    pid = int(site.ctl("pid", "jupyterhub").stdout.strip())
    site.ctl("stop", "prometheus")
    times = sorted(scrape(url, token) for _ in range(gets))
    lines = [
        f"{gets} GETs of /hub/metrics: median {statistics.median(times) * 1000:.1f} ms, "
        f"p95 {times[int(len(times) * 0.95) - 1] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms"
    ]
    before = cpu_seconds(pid)
    time.sleep(period)
    idle = cpu_seconds(pid) - before
    before, deadline, scrapes = cpu_seconds(pid), time.monotonic() + period, 0
    while time.monotonic() < deadline:
        scrape(url, token)
        scrapes += 1
        time.sleep(interval)
    busy = cpu_seconds(pid) - before
    lines.append(
        f"hub CPU over {period:.0f}s: {idle:.2f}s without scraping, {busy:.2f}s with {scrapes} scrapes "
        f"(one every {interval:g}s): {(busy - idle) / max(scrapes, 1) * 1000:.1f} ms of CPU a scrape"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gets", type=int, default=200)
    parser.add_argument("--period", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=15.0)
    parser.add_argument("--port-base", type=int, default=19300)
    args = parser.parse_args()
    base = args.port_base
    site = Site(
        REPO,
        base,
        name="bench-metrics",
        daskhub_monitoring_enabled=True,
        daskhub_local_prometheus_port=base + 5,
        daskhub_local_alertmanager_port=base + 6,
        daskhub_monitoring_exporter_port=base + 7,
    )
    try:
        busy = site.busy_ports()
        if busy:
            raise SystemExit(f"ports taken: {', '.join(busy)} (use --port-base)")
        started = time.monotonic()
        proc = site.playbook("site.yml")
        if proc.returncode:
            raise SystemExit(proc.stdout[-4000:])
        print(f"deployed with monitoring in {time.monotonic() - started:.0f}s")
        for line in measure(site, args.gets, args.period, args.interval):
            print(line)
    finally:
        site.purge()


if __name__ == "__main__":
    main()
