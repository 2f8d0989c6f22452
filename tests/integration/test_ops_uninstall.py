"""playbooks/uninstall.yml on the local target: keeps the data, reinstalls from it, and purge leaves nothing;
the restore drill around that purge: backup.yml before it, restore.yml onto a fresh prefix after it.
The purge takes the site down from its worst state: supervisord killed, an install cut short.

Uses the private stack of ``upgraded_stack`` (tests/support/stacks.py), after
the upgrade tests (the ``takes_down_the_stack`` mark orders them last,
whatever order the files are named in): these tests take it down, and the
restore brings it back in a new prefix, where the fixture purges it at the
end. The drill costs one backup, one converge onto the fresh prefix and one
verify.yml; the purge it needs is the one these tests make anyway.
"""

from __future__ import annotations

import grp
import json
import re
import shutil
import stat
import subprocess

import pytest
import yaml
from support import hub_api
from support.browser import Browser
from support.playbooks import recap
from support.site_faults import cron_file, interrupted_install, kill, supervisord_pid
from support.stacks import SHARED_UID_ACCOUNT, UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK, pytest.mark.takes_down_the_stack]


@pytest.fixture(scope="module")
def stack(upgraded_stack):
    """The upgraded private stack (the upgrade tests have read it by now, or never will)."""
    return upgraded_stack.stack


def test_uninstall_stops_everything_and_keeps_the_data(stack):
    status, _ = stack.api("POST", "/users", body={"usernames": ["dave"]})
    assert status in (201, 409)
    cluster = stack.start_cluster("alice")
    assert cluster
    # alice's notebook server, as her browser starts it; it outlives hub restarts by design.
    browser = Browser(stack.hub_url)
    browser.login("alice", stack.secrets()["dummy_password"])
    browser.start_server("alice")
    assert any("jupyterhub-singleuser" in command for _, command in stack.processes())
    out = stack.playbook("playbooks/uninstall.yml", "-vvv").stdout
    stack.deployed = False
    for name, value in stack.secrets().items():
        assert value not in out, f"{name} leaked into the -vvv output"
    assert stack.processes() == [], "processes of the stack are still running"
    assert stack.listening_ports() == [], "ports of the stack still listen"
    for gone in ("venv", "proxy", "etc", "run", "clusters"):
        assert not (stack.prefix / gone).exists(), f"{gone} was not removed"
    kept_paths = ("state/jupyterhub.sqlite", "state/dask_gateway.sqlite", "home", "log")
    for kept in kept_paths:
        assert (stack.prefix / kept).exists(), f"{kept} was removed without purge"
    assert (stack.state_dir / "secrets.yml").exists(), "the secrets store was removed without purge"


def test_uninstall_again_changes_nothing(stack):
    out = stack.playbook("playbooks/uninstall.yml").stdout
    assert recap(out)["changed"] == 0


def test_reinstall_from_kept_data_healing_an_install_killed_midway(stack, tmp_path):
    """site.yml after the uninstall, cut short while it installs the venv (issue 19: 4), then again: the
    second run rebuilds the half-written venv and the site comes back with its users and secrets."""
    before = stack.secrets()
    interrupted_install(stack, tmp_path / "interrupted.log")
    stack.deploy()
    status, users = stack.api("GET", "/users")
    assert status == 200
    assert "dave" in {u["name"] for u in users}, "users did not survive uninstall and reinstall"
    assert stack.secrets() == before
    check = subprocess.run(
        [str(stack.python), "-c", "import jupyterhub, distributed"], capture_output=True, check=False
    )
    assert check.returncode == 0, check.stderr


# What the drill keeps across the purge: alice's password and token, the backup.
DRILL = {}


def test_backup_while_the_stack_runs(stack):
    """backup.yml with alice logged in and holding a token she made at /hub/token; the backup outside the state dir."""
    secrets = stack.secrets()
    token = stack.user_token("alice", scopes=["read:users:name!user"])
    backups = stack.root / "backups"
    out = stack.playbook("playbooks/backup.yml", "-vvv", "-e", f"daskhub_backup_dir={backups}").stdout
    for name, value in secrets.items():
        assert value not in out, f"{name} leaked into the -vvv output of backup.yml"
    assert token not in out
    (backup,) = backups.iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    files = sorted(manifest["files"])
    assert files == ["dask_gateway.sqlite", "dask_gateway_db.key", "jupyterhub.sqlite", "secrets.yml"]
    assert manifest["versions"]["jupyterhub"] == stack.hub_version()
    assert (manifest["site"], manifest["target"]) == (stack.inventory.name, "local")
    assert manifest["accounts"] == [], "the shared-uid mode has no hub user accounts to record"
    assert (backup / "secrets.yml").read_bytes() == (stack.state_dir / "secrets.yml").read_bytes()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in backup.iterdir()} == {0o600}
    last = json.loads((stack.state_dir / "backups/last-backup.json").read_text())
    assert last["ok"] is True
    assert last["path"] == str(backup)
    DRILL.update(password=secrets["dummy_password"], token=token, backup=backup)


def test_purge_takes_a_broken_site_down_entirely(stack):
    """purge=true on a site in the worst state (issue 19: 7): a user's cluster, server and kernel running,
    supervisord SIGKILLed, the venv's packages gone (as an install killed midway leaves it; the heal of that is
    test_local_recovery's); nothing of it keeps running or stays behind."""
    shared_accounts = grp.getgrnam("daskhub-users").gr_mem if _group_exists("daskhub-users") else None
    assert stack.start_cluster("alice")
    browser = Browser(stack.hub_url)
    browser.login("alice", stack.secrets()["dummy_password"])
    browser.start_server("alice")
    kernel = browser.kernel("alice")
    assert kernel.execute("print(6 * 7)", timeout=60).strip() == "42"
    kill(supervisord_pid(stack))
    shutil.rmtree(next(stack.prefix.glob("venv/lib/python3*/site-packages")))
    assert subprocess.run([str(stack.python), "-c", "import supervisor"], check=False).returncode != 0
    watchdog = cron_file(stack)

    out = stack.playbook("playbooks/uninstall.yml", "-e", "purge=true").stdout
    stack.deployed = False
    assert stack.processes() == [], "processes of the purged site still run"
    assert stack.listening_ports() == []
    assert not stack.prefix.exists(), sorted(str(p) for p in stack.prefix.rglob("*"))[:20]
    assert not stack.state_dir.exists()
    assert not watchdog.exists(), "the watchdog would start the purged site again"
    # The shared-uid mode made no accounts: other sites' accounts in the group stay (others may be added
    # meanwhile by stacks deployed in parallel), and the report says what stays.
    if shared_accounts is not None:
        assert set(shared_accounts) <= set(grp.getgrnam("daskhub-users").gr_mem), "other sites' accounts removed"
    assert f"The service account {SHARED_UID_ACCOUNT} stays" in out


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def test_restore_refuses_bad_input_before_anything_changes(stack):
    """A missing folder and a corrupted file stop the restore before the secrets store or the prefix exist again."""
    if "backup" not in DRILL:
        pytest.skip("no backup was taken (test_backup_while_the_stack_runs failed)")
    missing = stack.playbook("playbooks/restore.yml", "-e", f"daskhub_restore_from={stack.root}/nothing", check=False)
    assert missing.returncode != 0
    assert f"daskhub_restore_from={stack.root}/nothing: no such folder" in missing.stdout
    corrupted = stack.root / "corrupted-backup"
    shutil.copytree(DRILL["backup"], corrupted)
    with open(corrupted / "jupyterhub.sqlite", "r+b") as handle:
        handle.seek(200)
        handle.write(b"\xff")
    proc = stack.playbook("playbooks/restore.yml", "-e", f"daskhub_restore_from={corrupted}", check=False)
    assert proc.returncode != 0
    assert "jupyterhub.sqlite is corrupted (its sha256 differs from the manifest's)" in proc.stdout
    assert not stack.state_dir.joinpath("secrets.yml").exists()
    assert not stack.prefix.exists()


def test_restore_onto_a_fresh_prefix(stack):
    """The drill: restore.yml onto a new prefix; alice's password and token work again, verify.yml passes, status.yml
    shows the restored users."""
    if "backup" not in DRILL:
        pytest.skip("no backup was taken (test_backup_while_the_stack_runs failed)")
    settings_file = stack.inventory / "group_vars/daskhub/zz-test.yml"
    settings = yaml.safe_load(settings_file.read_text())
    stack.prefix = stack.root / "prefix-restored"
    stack.python = stack.prefix / "venv/bin/python"
    settings["daskhub_local_prefix"] = str(stack.prefix)
    settings_file.write_text(yaml.safe_dump(settings))
    stack.playbook("playbooks/restore.yml", "-e", f"daskhub_restore_from={DRILL['backup']}")
    stack.deployed = True
    assert stack.secrets()["dummy_password"] == DRILL["password"]
    # alice logs in through the hub's form with her old password...
    browser = Browser(stack.hub_url)
    landed = browser.login("alice", DRILL["password"], next_path="/hub/token")
    assert landed.endswith("/hub/token"), f"alice could not log in with her old password: {landed}"
    # ...and the token she made before the purge still speaks for her.
    _, me = hub_api.call(f"{stack.hub_url}/hub/api", DRILL["token"], "GET", "/user", timeout=30)
    assert me["name"] == "alice"
    status, users = stack.api("GET", "/users")
    assert status == 200
    assert {"alice", "dave", "carol"} <= {user["name"] for user in users}
    stack.playbook("playbooks/verify.yml")
    out = re.sub(r"\n\s+(?![-\s])", " ", stack.playbook("playbooks/status.yml").stdout)  # unwrap the YAML callback
    assert re.search(rf"users: {len(users)} \(", out), out[-3000:]
