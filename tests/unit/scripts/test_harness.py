"""The test harness itself: one runner, per-worker ports, and the summary of scripts/test.sh."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from support import boot_network, chart_boot, stacks
from support.playbooks import ROOT, recap, run_playbook, task_result

TESTS = ROOT / "tests"
RUNNER = TESTS / "support" / "playbooks.py"
SUMMARY = ROOT / "scripts" / "test_summary.py"


def checked_modules():
    return [path for path in TESTS.rglob("*.py") if path != RUNNER and path != Path(__file__)]


@pytest.mark.parametrize(
    "pattern",
    [
        # Starting ansible-playbook or ansible by path, or with the runner's own
        # constants, instead of through support.playbooks.
        r"bin/ansible-playbook|bin/ansible\b|\"ansible-playbook\"|'ansible-playbook'|\bANSIBLE_PLAYBOOK\b|\bANSIBLE\b(?!_)",
        # Parsing the PLAY RECAP by hand: a regex of it, or a count looked up as text.
        r"ok=\(\\d|changed=\(\\d|[\"'](ok|changed|failed)=\d",
        # Another site's stack (the default prefix) used as a test's tool.
        r"(Path|open|os\.path\.\w+)\(\s*[\"']/opt/daskhub",
    ],
)
def test_one_runner_and_no_other_sites_files(pattern):
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in checked_modules()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert offenders == []


def test_recap_reads_the_last_recap_of_the_host():
    output = textwrap.dedent(
        """\
        PLAY RECAP *********************************************************************
        localhost             : ok=3    changed=2    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
        PLAY RECAP *********************************************************************
        other        : ok=9    changed=9    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
        localhost             : ok=5    changed=0    unreachable=0    failed=0    skipped=2    rescued=0    ignored=4
        """
    )
    assert recap(output) == {
        "ok": 5,
        "changed": 0,
        "unreachable": 0,
        "failed": 0,
        "skipped": 2,
        "rescued": 0,
        "ignored": 4,
    }
    assert recap(output, "other")["failed"] == 1
    assert recap("no recap here", required=False) is None
    with pytest.raises(AssertionError, match="no PLAY RECAP line for localhost"):
        recap("no recap here")


def test_task_result_finds_a_role_task_by_its_name():
    output = {
        "plays": [
            {
                "tasks": [
                    {"task": {"name": "daskhub_user_sync : Sync"}, "hosts": {"localhost": {"changed": True}}},
                    {"task": {"name": "Other"}, "hosts": {"localhost": {"changed": False}}},
                ]
            }
        ]
    }
    assert task_result(output, "Sync") == {"changed": True}
    assert task_result(output, "Missing") is None


def test_each_worker_has_its_own_ports_inside_the_harness_range(monkeypatch):
    blocks = {}
    for worker in ("gw0", "gw1", "gw2", "gw7"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        for name, slot in stacks.SLOTS.items():
            blocks[(worker, name)] = set(stacks.port_block(slot).values())
    ports = [port for block in blocks.values() for port in block]
    assert len(ports) == len(set(ports)), "two stacks share a port"
    assert all(port in stacks.HARNESS_PORTS for port in ports)
    # Never the default site's ports.
    assert not {8000, 8001, 8002, 8003, 8081} & set(ports)


def test_the_harness_ports_are_outside_the_kernels_ephemeral_range(monkeypatch):
    """No outgoing connection's local port is a test server's: a client never connects to itself."""
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    booted = range(boot_network.PORT_BASE, boot_network.PORT_BASE + boot_network.PORTS_PER_MODE * len(chart_boot.MODES))
    for ports in (stacks.HARNESS_PORTS, stacks.SERVER_PORTS, booted):
        assert ports.stop <= low or ports.start > high, f"{ports} overlaps the ephemeral ports {low}-{high}"
    assert not set(stacks.HARNESS_PORTS) & set(stacks.SERVER_PORTS)
    assert not (set(stacks.HARNESS_PORTS) | set(stacks.SERVER_PORTS)) & set(booted)
    given = {}
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        given[worker] = [stacks.free_port() for _ in range(5)]
        assert len(set(given[worker])) == 5, "a port was given twice in a row"
        assert all(port in stacks.SERVER_PORTS for port in given[worker])
    assert not set(given["gw0"]) & set(given["gw1"]), "two workers were given the same port"


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """A pytest session of its own in ``cwd`` (the harness's behaviour seen from outside)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_stack_that_takes_a_site_down_runs_after_the_other_tests_of_its_stack():
    """Named in either order, the uninstall tests come after the upgrade tests that read the same stack."""
    files = ["tests/integration/test_ops_uninstall.py", "tests/integration/test_ops_jupyterhub_upgrade.py"]
    proc = run_pytest(ROOT, "--collect-only", "-q", "-p", "no:xdist", *files)
    assert proc.returncode == 0, proc.stdout[-3000:]
    order = [line.split("::")[0] for line in proc.stdout.splitlines() if "::" in line]
    first_uninstall = order.index(files[0])
    assert order[first_uninstall:] == [files[0]] * (len(order) - first_uninstall)
    assert files[1] in order[:first_uninstall]


def run_summary(tmp_path, junit: str, steps: str = "pytest\t7\t0\n", skips: dict | None = None):
    (tmp_path / "steps.tsv").write_text(steps)
    (tmp_path / "pytest.xml").write_text(junit)
    for name, text in (skips or {}).items():
        (tmp_path / "skips").mkdir(exist_ok=True)
        (tmp_path / "skips" / f"{name}.txt").write_text(text)
    return subprocess.run(
        [sys.executable, str(SUMMARY), str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" time="12.5">
<testcase classname="tests.unit.test_a" name="test_ok" time="1"/>
<testcase classname="tests.unit.test_a" name="test_skip[4.0.2]" time="0">
  <skipped type="pytest.skip" message="the schedule does not depend on the hub version">tests/x.py:3: ...</skipped>
</testcase>
<testcase classname="tests.unit.test_a" name="test_bad" time="1"><failure message="boom">trace</failure></testcase>
</testsuite></testsuites>
"""


def test_summary_lists_counts_times_and_every_skip_with_its_reason(tmp_path):
    skips = {"molecule-kind": "the kind\nscenario needs Docker.\n"}
    proc = run_summary(tmp_path, JUNIT, "ruff\t3\t0\npytest\t20\t1\n", skips)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert re.search(r"ruff\s+3 s\s+ok", out)
    assert re.search(r"pytest\s+20 s\s+FAILED \(exit 1\)", out)
    assert re.search(r"total\s+23 s", out)
    assert "pytest: 3 tests, 1 passed, 1 failed, 0 errors, 1 skipped" in out
    assert "FAILED tests.unit.test_a::test_bad" in out
    assert "tests.unit.test_a::test_skip[4.0.2]: the schedule does not depend on the hub version" in out
    # The scenario's reason, on one line.
    assert out.count("molecule-kind (step): the kind scenario needs Docker.") == 1
    assert "skipped: 2:" in out


def test_summary_counts_ansible_test_units_beside_pytest(tmp_path):
    (tmp_path / "python3.12-controller-units.xml").write_text(JUNIT)
    proc = run_summary(tmp_path, JUNIT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    counts = "3 tests, 1 passed, 1 failed, 0 errors, 1 skipped (12 s in tests)"
    assert f"ansible-test units (python3.12-controller-units): {counts}" in out
    assert out.count("FAILED tests.unit.test_a::test_bad") == 2
    assert "skipped: 2:" in out


def test_the_kind_scenarios_own_skip_reaches_the_summary_whole(tmp_path):
    """molecule/kind/create.yml itself, on this machine: its reason lands in the summary on one line."""
    if shutil.which("docker") and shutil.which("kind"):
        pytest.skip("this machine may run the kind scenario: molecule-kind runs it instead of skipping")
    (tmp_path / "ephemeral").mkdir()
    skips = tmp_path / "skips"
    skips.mkdir()
    extra = {"MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "ephemeral"), "DASKHUB_TEST_SKIPS": str(skips)}
    proc = run_playbook("molecule/kind/create.yml", extra_env=extra, merge_stderr=True)
    assert proc.returncode == 0, proc.stdout
    assert "SKIPPED: the kind scenario needs" in proc.stdout
    reason = (skips / "molecule-kind.txt").read_text().strip()
    assert reason.startswith("the kind scenario needs ") and "\n" not in reason
    out = run_summary(tmp_path, JUNIT).stdout
    assert f"  molecule-kind (step): {reason}\n" in out
    assert "\x1b" not in out


def test_summary_fails_when_pytest_ran_nothing(tmp_path):
    proc = run_summary(tmp_path, '<testsuites><testsuite name="pytest" tests="0" time="0"/></testsuites>')
    assert proc.returncode != 0
    assert "pytest ran no test" in proc.stdout


def test_a_private_stack_takes_the_given_ports():
    ports = {"daskhub_local_hub_port": 43000, "daskhub_local_gateway_port": 43003}
    stack = stacks.LocalStack("compat", stacks.SLOTS["private"], ports=ports)
    try:
        settings = yaml.safe_load((stack.inventory / "group_vars/daskhub/zz-test.yml").read_text())
        assert settings["daskhub_local_hub_port"] == 43000
        assert settings["daskhub_local_gateway_port"] == 43003
        assert settings["daskhub_local_prefix"] == str(stack.prefix)
        assert stack.hub_url == "http://127.0.0.1:43000"
    finally:
        stack.purge()
    assert not stack.root.exists()


GROUPED = """
import os

import pytest

GROUP = pytest.mark.xdist_group("shared")


@GROUP
@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    print("WORKER", os.environ["PYTEST_XDIST_WORKER"])


@pytest.mark.parametrize("n", range(6))
def test_free(n):
    pass
"""

CONFTEST = f"""
import importlib.util
import sys

sys.path.insert(0, {str(TESTS)!r})
_spec = importlib.util.spec_from_file_location("daskhub_tests_conftest", {str(TESTS / "conftest.py")!r})
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
pytest_collection_modifyitems = _module.pytest_collection_modifyitems
"""


def test_a_group_runs_on_one_worker(tmp_path):
    """What scripts/test.sh relies on to deploy a shared stack once: -n 2 --dist loadgroup keeps a group together."""
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    proc = run_pytest(tmp_path, "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v")
    assert proc.returncode == 0, proc.stdout[-3000:]
    workers = set(re.findall(r"\[(gw\d+)\] \[.*\] PASSED test_grouped.py::test_grouped", proc.stdout))
    assert len(workers) == 1, proc.stdout
    assert proc.stdout.count("PASSED test_grouped.py::test_grouped") == 6


CLOCK = """
import pytest


@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("n", range(3))
def test_grouped(n):
    pass


@pytest.mark.waits_for_the_clock
def test_waits():
    pass
"""


def test_a_test_that_waits_for_the_clock_is_handed_out_before_the_other_free_tests(tmp_path):
    """Named last, the waiting test still runs before every test of no group, so its wait overlaps them."""
    (tmp_path / "test_a_free.py").write_text(
        "import pytest\n\n\n@pytest.mark.parametrize('n', range(4))\ndef test_free(n):\n    pass\n"
    )
    (tmp_path / "test_z_clock.py").write_text(CLOCK)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    proc = run_pytest(tmp_path, "-n", "1", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v")
    assert proc.returncode == 0, proc.stdout[-3000:]
    order = re.findall(r"PASSED (\S+?)(?:\[\d+\])?(?:@\w+)?\s*$", proc.stdout, re.MULTILINE)
    assert (
        order
        == ["test_z_clock.py::test_grouped"] * 3 + ["test_z_clock.py::test_waits"] + ["test_a_free.py::test_free"] * 4
    ), proc.stdout


def test_summary_gives_the_wall_clock_time_from_the_start_of_the_suite(tmp_path):
    (tmp_path / "started").write_text(f"{int(time.time()) - 600}\n")
    proc = run_summary(tmp_path, JUNIT, "ansible-lint\t50\t0\nmolecule-default\t90\t0\n")
    assert proc.returncode == 0, proc.stderr
    wall = re.search(r"wall\s+(\d+) s", proc.stdout)
    assert wall and 600 <= int(wall.group(1)) < 660, proc.stdout
    assert re.search(r"total\s+140 s", proc.stdout)
