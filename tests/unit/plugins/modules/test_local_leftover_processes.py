"""daskhub.deploy.local_leftover_processes with real processes: what runs from the paths ends, nothing else."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.playbooks import run_module

SLEEP = "import time; time.sleep(120)"
# Ignores SIGTERM, as a wedged server might; says so once it does.
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(120)"
)


@pytest.fixture
def venv(tmp_path) -> Path:
    """A stand-in for the local target's venv: its python is a link to this interpreter."""
    (tmp_path / "venv/bin").mkdir(parents=True)
    (tmp_path / "venv/bin/python").symlink_to(sys.executable)
    return tmp_path / "venv"


@pytest.fixture
def processes(venv):
    """A server-like process from the venv, one that ignores SIGTERM, and a bystander from elsewhere."""
    started = {
        "server": subprocess.Popen([str(venv / "bin/python"), "-c", SLEEP]),
        "stubborn": subprocess.Popen([str(venv / "bin/python"), "-c", STUBBORN], stdout=subprocess.PIPE, text=True),
        "bystander": subprocess.Popen([sys.executable, "-c", SLEEP]),
    }
    assert started["stubborn"].stdout.readline().strip() == "ready"
    yield started
    for process in started.values():
        process.kill()
        process.wait()


def test_check_mode_lists_what_runs_from_the_paths_and_stops_nothing(venv, processes):
    rc, result, output = run_module("local_leftover_processes", {"paths": [str(venv)]}, "--check")
    assert rc == 0, output
    assert result["changed"] is True
    assert sorted(found["pid"] for found in result["stopped"]) == sorted(
        [processes["server"].pid, processes["stubborn"].pid]
    )
    assert all(str(venv) in found["command"] for found in result["stopped"])
    assert all(process.poll() is None for process in processes.values()), "check mode stopped a process"


def test_stops_what_runs_from_the_paths_kills_what_ignores_sigterm_and_spares_the_rest(venv, processes):
    rc, result, output = run_module("local_leftover_processes", {"paths": [str(venv)], "timeout": 2})
    assert rc == 0, output
    assert result["changed"] is True
    assert result["killed"] == [processes["stubborn"].pid]
    assert processes["server"].wait(timeout=10) == -signal.SIGTERM
    assert processes["stubborn"].wait(timeout=10) == -signal.SIGKILL
    assert processes["bystander"].poll() is None, "a process from elsewhere was stopped"
    rc, again, output = run_module("local_leftover_processes", {"paths": [str(venv)]})
    assert (rc, again["changed"], again["stopped"]) == (0, False, []), output


def test_a_relative_path_is_refused_before_anything_is_stopped(venv, processes):
    rc, result, _ = run_module("local_leftover_processes", {"paths": ["venv"]})
    assert rc != 0
    assert "paths must be absolute: ['venv']" in result["msg"]
    assert all(process.poll() is None for process in processes.values())
