"""ansible-playbook timed under this repository's ansible.cfg and under a copy of it without one setting.

The benchmarks of ansible.cfg's settings (controller_wait.py,
template_plugins.py) use it: each runs the same playbook under both, in
turn, and reports the medians of each run's CPU (ansible-playbook and its
children) and wall seconds.
"""

from __future__ import annotations

import configparser
import contextlib
import datetime
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
CONFIG = ROOT / "ansible.cfg"


def setting(option: str, fallback: str) -> str:
    """An option of ansible.cfg's [defaults], or ``fallback`` (Ansible's default) where it sets none."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(CONFIG)
    return config.get("defaults", option, fallback=fallback)


@contextlib.contextmanager
def config_without(option: str) -> Iterator[Path]:
    """A copy of ansible.cfg without ``option`` in [defaults], beside it (its relative paths are the repository's)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(CONFIG)
    config.remove_option("defaults", option)
    path = ROOT / f"ansible-bench-without-{option}.cfg"
    with path.open("w") as handle:
        config.write(handle)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def timed_run(config: Path, argv: list[str]) -> tuple[float, float]:
    """(CPU seconds of ansible-playbook and its children, wall seconds) of one run of ``ansible-playbook argv``."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    subprocess.run(
        [str(ANSIBLE_PLAYBOOK), *argv],
        env={"ANSIBLE_CONFIG": str(config), "PATH": f"{ANSIBLE_PLAYBOOK.parent}:/usr/sbin:/usr/bin:/sbin:/bin"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu, time.monotonic() - started


def compare(configs: dict[str, Path], argv: list[str], runs: int) -> dict[str, list[tuple[float, float]]]:
    """Each configuration's runs of ``ansible-playbook argv``, taken in turn (the machine's drift hits both)."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
    for _run in range(runs):
        for name, config in configs.items():
            results[name].append(timed_run(config, argv))
    return results


def report(results: dict[str, list[tuple[float, float]]], what: str, log_name: str) -> None:
    """Prints each configuration's medians and appends them to bench/results/<log_name>."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    log_path = ROOT / "bench" / "results" / log_name
    log_path.parent.mkdir(exist_ok=True)
    with log_path.open("a") as log:
        for name, runs in results.items():
            cpus, walls = [run[0] for run in runs], [run[1] for run in runs]
            line = (
                f"{name}: {what}, runs={len(runs)} median CPU {statistics.median(cpus):.2f} s,"
                f" median wall {statistics.median(walls):.2f} s (CPU each: {' '.join(f'{cpu:.2f}' for cpu in cpus)})"
            )
            print(line)
            log.write(f"{stamp} {line}\n")
