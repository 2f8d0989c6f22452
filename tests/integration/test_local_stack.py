"""The local target for real: bad input, supervision, restarts, file modes.

The bad-input tests stop at the role's preflight, before anything changes,
and take seconds. The stack tests use the session's shared ``local_stack``
(tests/support/stacks.py): the default inventory in a private prefix with
its own ports and instance name; each test leaves it working.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import openssl_error_queue, processes, python_probe
from packaging.utils import canonicalize_name
from support.host_cases import CasesRun, run_host_cases
from support.playbooks import ROOT, module_work, run_module, run_playbook, start_playbook, task_result
from support.stacks import LOCAL_STACK, SLOTS, make_inventory, port_block
from support.venvs import venv_distributions
from support.versions import local_defaults

SCRATCH_PORTS = port_block(SLOTS["scratch"])
CHP_LOCK = Path(__file__).resolve().parents[2] / "roles/daskhub_local/files/configurable-http-proxy/package-lock.json"


# --- Bad input: clear errors, nothing changed ----------------------------------


# Every bad-input case is a host of one inventory (support/host_cases.py):
# one run of site.yml refuses them all, each with its own prefix, state dir and
# instance name; a refused case shows that its prefix was never made.
REFUSALS = ("gateway_port_taken", "prometheus_port_taken", "unwritable_prefix", "unreachable_prefix")
REFUSALS += ("missing_node", "npm_lock_and_watchdog", "foreign_accounts", "clashing_ports")


@dataclass
class Refusals:
    run: CasesRun
    root: Path
    squatted: int  # the port a listener of this process held during the run
    site_lock: Path  # a site's own npm lock, of another proxy version

    def refused(self, name: str) -> str:
        """The case's failure message, its lines joined; fails unless the play stopped it before making its prefix."""
        message = self.run.refusal(name)
        assert not (self.root / name / "prefix").exists(), f"{name}: the prefix was made before the refusal"
        return " ".join(message.split())


@pytest.fixture(scope="module")
def refusals():
    """site.yml run once over every case of REFUSALS, as root (the harness runs as root, as CI does)."""
    assert os.geteuid() == 0, "the harness runs as root, as CI does"
    root = Path(tempfile.mkdtemp(prefix="daskhub-local-bad-"))
    # As /opt is: other accounts may enter (as root the users' accounts run the stack).
    root.chmod(0o755)
    site_lock = root / "chp-lock"
    site_lock.mkdir()
    (site_lock / "package.json").write_text(json.dumps({"dependencies": {"configurable-http-proxy": "4.6.3"}}))
    (root / "closed").mkdir(mode=0o700)
    for name in REFUSALS:
        # Each case's prefix and state dir under a directory other accounts may enter, as /opt.
        (root / name).mkdir(mode=0o755)
    try:
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            settings = {
                "gateway_port_taken": {"daskhub_local_gateway_port": port},
                # Monitoring's own ports are checked with the others, before its packages are installed.
                "prometheus_port_taken": {"daskhub_local_prometheus_port": port, "daskhub_monitoring_enabled": True},
                "unwritable_prefix": {"daskhub_local_prefix": "/proc/daskhub-test-prefix"},
                # As root, other accounts run the notebooks from the prefix: a 0700 parent stops the play.
                "unreachable_prefix": {"daskhub_local_prefix": str(root / "closed" / "prefix")},
                "missing_node": {
                    "daskhub_local_node_command": "/nonexistent/bin/node",
                    "daskhub_local_npm_command": "/nonexistent/bin/npm",
                    "daskhub_local_install_node": False,
                },
                "npm_lock_and_watchdog": {
                    "daskhub_local_proxy_npm_lock": str(site_lock),
                    "daskhub_local_supervisor": "supervisord",
                    "daskhub_local_supervisor_watchdog_minutes": 7,
                },
                "foreign_accounts": {"daskhub_users": ["alice", "daemon", "nobody"]},
                "clashing_ports": {"daskhub_local_gateway_api_port": SCRATCH_PORTS["daskhub_local_hub_port"]},
            }
            cases = {
                name: {
                    "daskhub_local_prefix": str(root / name / "prefix"),
                    "daskhub_state_dir": str(root / name / "state"),
                    "daskhub_local_instance": f"daskhub-test-bad-{name.replace('_', '-')}",
                    **settings[name],
                }
                for name in REFUSALS
            }
            inventory = make_inventory(root, root / "prefix", SCRATCH_PORTS)
            run = run_host_cases(ROOT / "site.yml", inventory, cases)
        yield Refusals(run, root, port, site_lock)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    "name, variable",
    [("gateway_port_taken", "daskhub_local_gateway_port"), ("prometheus_port_taken", "daskhub_local_prometheus_port")],
)
def test_a_port_already_taken_is_named_before_anything_changes(refusals, name, variable):
    message = refusals.refused(name)
    assert f"{variable}: port {refusals.squatted} is already taken by process {os.getpid()}" in message


def test_an_unwritable_prefix_is_named(refusals):
    assert "daskhub_local_prefix: cannot write to /proc" in refusals.refused("unwritable_prefix")


def test_a_prefix_the_users_accounts_cannot_reach_is_named(refusals):
    closed = refusals.root / "closed"
    message = refusals.refused("unreachable_prefix")
    assert f"daskhub_local_prefix: {closed} (above {closed / 'prefix'}) is not searchable by other accounts" in message
    assert not (closed / "prefix").exists()


def test_a_missing_node_is_named_with_the_fix(refusals):
    message = refusals.refused("missing_node")
    assert "node and npm not found (daskhub_local_node_command=/nonexistent/bin/node" in message
    assert "configurable-http-proxy needs Node.js and npm" in message


def test_an_npm_lock_of_another_proxy_and_a_bad_watchdog_interval_are_named_together(refusals):
    """A site's own lock (daskhub_local_proxy_npm_lock) must install the version daskhub_local_versions pins, and
    the watchdog's interval must divide the hour: one message names both, before anything changes."""
    (message,) = refusals.run["npm_lock_and_watchdog"].messages
    message = " ".join(message.split())
    assert refusals.refused("npm_lock_and_watchdog") == message
    pinned = json.loads(CHP_LOCK.read_text())["packages"]["node_modules/configurable-http-proxy"]["version"]
    assert message.startswith("The local target settings are invalid:"), message
    assert (
        f"daskhub_local_versions.configurable_http_proxy={pinned}: the npm lock of daskhub_local_proxy_npm_lock "
        f"({refusals.site_lock}) installs 4.6.3." in message
    )
    assert "daskhub_local_supervisor_watchdog_minutes=7: use a divisor of 60 below 60" in message


def test_an_existing_account_not_made_by_the_project_is_refused_before_anything_changes(refusals):
    """The probe: a hub user named after a host account (a service's, the operator's) ran code as that account."""
    message = refusals.refused("foreign_accounts")
    assert "daskhub_users: 'daemon' is a system account of this host" in message
    assert "daskhub_users: 'nobody' is an existing account of this host that this project did not make" in message
    assert "daskhub_local_adopted_accounts" in message


def test_clashing_ports_are_named(refusals):
    hub_port = SCRATCH_PORTS["daskhub_local_hub_port"]
    message = refusals.refused("clashing_ports")
    assert f"daskhub_local_gateway_api_port: port {hub_port} is also daskhub_local_hub_port" in message


# --- The deployed stack ------------------------------------------------------------


@pytest.mark.stack
@LOCAL_STACK
def test_the_shared_stack_is_molecules_default_scenario_converged_idempotent_and_verified(local_stack):
    """The stack's deploy is ``molecule test -s default``: every step ran, the second converge changed nothing."""
    output = local_stack.deploy_output
    for step in ("converge", "idempotence", "verify"):
        assert f"default > {step}: Executed: Successful" in output, f"Molecule's {step} step did not succeed"
    assert "[default > destroy] Skipping, '--destroy=never' requested." in output.split("[default > verify]")[-1]
    # The run ends with how to use the site and what restarts its services (role vars: daskhub_local_supervision_note).
    usage = " ".join(output.split("TASK [Show how to use the site]", 1)[1].split("TASK [", 1)[0].split())
    forms = r"Supervision: (supervisord \(\S+/supervisorctl -c \S+ status\)|supervisord restarts|systemd units)"
    assert re.search(forms, usage), usage
    assert local_stack.healthy()


@pytest.mark.stack
@LOCAL_STACK
def test_the_venv_holds_none_of_the_roles_excluded_packages(local_stack):
    """daskhub_local_venv_excludes (rfc3987-syntax: a second of every hub and server start) is not in the venv."""
    excludes = local_defaults()["daskhub_local_venv_excludes"]
    assert excludes, "the role excludes nothing: this test has nothing to check"
    held = venv_distributions(local_stack.python.parent.parent)
    assert not held & {canonicalize_name(name) for name in excludes}, f"the venv holds excluded packages: {excludes}"


@pytest.mark.stack
@LOCAL_STACK
def test_the_venv_has_the_openssl_fix_exactly_where_its_interpreter_needs_it(local_stack):
    """Where one failed TLS connection breaks the others (Debian 13's Python), every process starts with the fix.

    The suite runs on Debian 13's own interpreter where it can be had
    (scripts/debian_python.py): there the fix is in, and the users' path
    tests are what show it works; elsewhere it is not.
    """
    facts, why = python_probe.run(str(local_stack.python))
    assert facts, why
    fix_files = openssl_error_queue.fix_files(facts, "")
    assert all(Path(path).exists() == bool(facts["openssl_error_queue"]["leaks"]) for path in fix_files), facts
    assert facts["openssl_error_queue"]["cleared"] is True, facts


@pytest.mark.stack
@LOCAL_STACK
def test_secret_files_and_private_directories_are_private(local_stack):
    for relative, mode in [
        ("etc/hub-secrets.json", 0o600),
        ("etc/gateway-secrets.json", 0o600),
        ("state/dask_gateway_db.key", 0o600),
        ("state", 0o700),
        ("run", 0o700),
        ("etc/jupyterhub_config.py", 0o644),
        ("etc/dask_gateway_config.py", 0o644),
        ("etc/hub-settings.json", 0o644),
        ("etc/gateway-settings.json", 0o644),
    ]:
        assert stat.S_IMODE((local_stack.prefix / relative).stat().st_mode) == mode, relative
    assert stat.S_IMODE((local_stack.state_dir / "secrets.yml").stat().st_mode) == 0o600


@pytest.mark.stack
@LOCAL_STACK
def test_a_killed_hub_is_restarted_and_verify_passes(local_stack):
    old = local_stack.pid("jupyterhub")
    assert old
    # The hub's managed services (the culler, the exporter), in sessions of their own; not a user's
    # server the hub started, which outlives it by design (one another test left running).
    services = {
        p["pid"]: p["argv"]
        for p in processes.all_processes()
        if p["ppid"] == old and not any("jupyterhub-singleuser" in part for part in p["argv"])
    }
    assert any("jupyterhub_idle_culler" in argv for argv in services.values()), services
    os.kill(old, signal.SIGKILL)
    local_stack.wait_restarted("jupyterhub", old)
    result = local_stack.playbook("playbooks/verify.yml", check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "reject a bogus token" in result.stdout.replace("''", "'")
    # They ended with the killed hub (the service guard); the new hub runs its own.
    left = {p["pid"]: p["argv"] for p in processes.all_processes() if services.get(p["pid"]) == p["argv"]}
    assert not left, f"the killed hub's services live on: {left}"


@pytest.mark.stack
@LOCAL_STACK
def test_a_killed_gateway_is_restarted(local_stack):
    old = local_stack.pid("dask-gateway")
    assert old
    os.kill(old, signal.SIGKILL)
    local_stack.wait_restarted("dask-gateway", old)


@pytest.mark.stack
@LOCAL_STACK
def test_a_gateway_setting_restarts_only_the_gateway(local_stack):
    hub, gateway = local_stack.pid("jupyterhub"), local_stack.pid("dask-gateway")
    result = local_stack.playbook("site.yml", "-e", '{"daskhub_gateway_idle_timeout": 900}', check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    settings = json.loads((local_stack.prefix / "etc/gateway-settings.json").read_text())
    assert settings["config"]["ClusterConfig"]["idle_timeout"] == 900.0
    assert local_stack.pid("jupyterhub") == hub
    assert local_stack.pid("dask-gateway") not in (None, gateway)
    # Back to the inventory's setting; the hub database kept its users.
    result = local_stack.playbook("site.yml", check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    assert local_stack.pid("jupyterhub") == hub


@pytest.mark.stack
@LOCAL_STACK
def test_a_second_converge_waits_for_the_first_then_names_it(local_stack, tmp_path):
    """The probe: two site.yml runs at once both went ahead; one run lock per site now serializes them."""
    owner_file = local_stack.state_dir / "site.lock.owner.txt"
    # A converge with nothing to do is over in seconds: the first one runs on
    # a slow host (each module waits 3 s before it starts), so that it still
    # holds the lock when the second asks for it.
    slow_python = tmp_path / "slow-python"
    slow_python.write_text(f'#!/bin/sh\nsleep 3\nexec {sys.executable} "$@"\n')
    slow_python.chmod(0o755)
    first = start_playbook(
        "-i", str(local_stack.inventory), "site.yml", "-e", f"ansible_python_interpreter={slow_python}"
    )
    try:
        local_stack.wait_for(
            lambda: owner_file.exists() and json.loads(owner_file.read_text()).get("watch_pid") == first.pid,
            timeout=120,
            what="the first converge to take the site's run lock",
        )
        second = local_stack.playbook("site.yml", "-e", "daskhub_run_lock_timeout=2", check=False)
        assert first.poll() is None, "the first converge ended before the second asked for the lock"
    finally:
        out, _ = first.communicate(timeout=900)
    assert first.returncode == 0, out[-4000:]
    assert second.returncode != 0
    shown = " ".join(second.stdout.split())
    assert f"another run holds the lock {local_stack.state_dir / 'site.lock'}" in shown
    assert f"(ansible-playbook of {local_stack.inventory} (play: " in shown
    assert "gave up after waiting 2s" in shown
    # It stopped at the lock: nothing of the local target ran.
    assert "Check the prefix, the ports and Node.js" not in second.stdout


# The second converge (changed=0) is Molecule's idempotence step.


@pytest.mark.stack
@LOCAL_STACK
def test_check_mode_reports_a_stopped_program_and_starts_nothing(local_stack):
    """molecule/default/verify.yml runs local_supervisord in check mode and fails on a change."""
    assert local_stack.ctl("stop", "dask-gateway").returncode == 0
    try:
        args = {
            "venv_bin": str(local_stack.prefix / "venv/bin"),
            "config": str(local_stack.prefix / "etc/supervisord.conf"),
            "programs": ["jupyterhub", "dask-gateway"],
            "timeout": 5,
        }
        rc, answer, output = run_module("local_supervisord", args, "--check")
        assert rc == 0, output
        assert answer["changed"] is True
        assert answer["restarted"] == ["dask-gateway"]
        assert answer["status"]["dask-gateway"] == "STOPPED"
        assert answer["status"]["jupyterhub"] == "RUNNING"
        assert local_stack.pid("dask-gateway") is None, "check mode started the program"
    finally:
        local_stack.ctl("start", "dask-gateway")
        local_stack.wait_for(local_stack.healthy, timeout=90, what="the stack to be healthy again")


def locked_packages(lockfile: Path) -> dict:
    """path -> (version, integrity) of an npm lockfile's installed packages."""
    packages = json.loads(lockfile.read_text())["packages"]
    return {path: (entry["version"], entry["integrity"]) for path, entry in packages.items() if path}


@pytest.mark.stack
@LOCAL_STACK
def test_the_proxy_is_the_npm_locks_and_check_mode_names_an_install_to_finish(local_stack):
    """npm ci installed the committed lock; an install npm did not finish, check mode reports (and changes nothing)."""
    hidden = local_stack.prefix / "proxy/node_modules/.package-lock.json"  # npm writes it when an install completes
    assert locked_packages(hidden) == locked_packages(CHP_LOCK)
    assert (local_stack.prefix / "proxy/package-lock.json").read_bytes() == CHP_LOCK.read_bytes()
    aside = hidden.with_name("aside.json")
    os.replace(hidden, aside)
    try:
        checked = run_playbook(
            "site.yml",
            "--check",
            inventory=local_stack.inventory,
            timeout=900,
            extra_env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
        )
        assert not hidden.exists(), "check mode ran npm"
    finally:
        os.replace(aside, hidden)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert task_result(checked.stdout, "Install configurable-http-proxy from its npm lock")["changed"] is True
    # The lock in the prefix is the committed one: only the unfinished install is to do.
    placed = task_result(checked.stdout, "Ensure the prefix's directories, configuration and keys")
    assert not [path for path in placed["changed_paths"] if "/proxy/" in path], placed["changed_paths"]


# --- Modules on their own ------------------------------------------------------------


def test_system_users_plans_accounts_in_check_mode():
    args = {"users": ["nobody", "daskhub-zz-nobody"], "group": "daskhub-zz-test"}
    rc, answer = module_work("local_system_users", args, check_mode=True)
    assert rc == 0, answer
    # An existing account is used as it is (the preflight decides whether it
    # may be); only the missing account is planned.
    assert answer["created"] == ["daskhub-zz-nobody"]
    assert answer["removed"] == []
    # root never, whatever asks for it.
    rc, answer = module_work("local_system_users", {"users": ["root"], "group": "daskhub-zz-test"}, check_mode=True)
    assert rc != 0
    assert "not usable as system account names: root" in answer["msg"]


@pytest.mark.stack
@LOCAL_STACK
def test_verify_names_the_step_that_broke(local_stack):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on that port: the first step fails and says where to look.
    args = {
        "hub_url": f"http://127.0.0.1:{port}",
        "hub_token": "not-a-real-token",
        "user": "alice",
        "worker_cores": 1,
        "worker_memory": 2,
        "image": "img:1",
        "worker_cores_max": 4,
        "log_dir": "/srv/log",
        "timeout": 5,
    }
    rc, _, output = run_module("daskhub_verify", args, "-e", f"ansible_python_interpreter={local_stack.python}")
    assert rc != 0
    shown = " ".join(output.split())  # the output may wrap long lines
    assert "verify step 'hub answers' failed: HubUnreachable" in shown
    assert "the hub or its proxy is down: /srv/log/jupyterhub.log" in shown


@pytest.mark.stack
@LOCAL_STACK
def test_no_secret_in_verbose_output_or_service_logs(local_stack):
    """site.yml at -vvv and every service log; verify.yml's -vvv run is test_user_path.py's."""
    result = local_stack.playbook("site.yml", "-vvv", check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    outputs = [result.stdout]
    outputs.extend(path.read_text(errors="replace") for path in (local_stack.prefix / "log").glob("*.log"))
    secrets = local_stack.secrets()
    assert {"proxy_secret_token", "dask_gateway_api_token", "service_daskhub_verify_api_token"} <= set(secrets)
    for name, value in secrets.items():
        assert not any(value in text for text in outputs), name
