"""Site-model input through playbooks/prepare.yml (issue 11, item 4).

The probes: a user name with a space was accepted, a misspelled variable was
ignored, and a string for a number printed ``_AnsibleTaggedStr`` and hid
the other problems. Each now fails the play before anything changes, in
one message that names every variable as the inventory spells it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support.playbooks import ROOT, run_playbook

PLAYBOOK = ROOT / "playbooks" / "prepare.yml"


@pytest.fixture
def site(tmp_path) -> Path:
    inventory = tmp_path / "site"
    shutil.copytree(ROOT / "inventories" / "local", inventory, ignore=shutil.ignore_patterns("state"))
    return inventory


def with_vars(site: Path, **variables) -> None:
    path = site / "group_vars" / "daskhub" / "main.yml"
    model = yaml.safe_load(path.read_text())
    model.update(variables)
    path.write_text(yaml.safe_dump(model))


def play(site: Path, *args: str) -> subprocess.CompletedProcess:
    return run_playbook(str(PLAYBOOK), "-i", str(site), *args)


def failure(result: subprocess.CompletedProcess, site: Path) -> str:
    assert result.returncode != 0, result.stdout[-3000:]
    assert not (site / "state").exists(), "something changed before the model was checked"
    return result.stdout + result.stderr


def test_a_user_name_with_a_space_is_refused(site):
    with_vars(site, daskhub_users=["alice", "carol smith"])
    out = failure(play(site), site)
    assert "daskhub_users[1]: 'carol smith' contains whitespace" in out


def test_names_with_capitals_or_a_slash_are_refused(site):
    with_vars(site, daskhub_admin_users=["Admin"], daskhub_blocked_users=["mallory/x"])
    out = failure(play(site), site)
    assert "daskhub_admin_users[0]: 'Admin' has capitals: JupyterHub lowercases login names, write 'admin'" in out
    assert "daskhub_blocked_users[0]: 'mallory/x' contains '/'" in out


def test_system_accounts_need_account_names(site):
    """As root the default (daskhub_local_system_users: auto) is system accounts."""
    long_name = "a" * 33
    with_vars(site, daskhub_users=["alice", "1bob", long_name])
    out = failure(play(site), site)
    assert "daskhub_users[1]: '1bob' is not a valid system account name" in out
    assert f"daskhub_users[2]: '{long_name}' is longer than 32 characters" in out


def test_the_same_names_pass_without_system_accounts(site):
    with_vars(site, daskhub_users=["alice", "1bob", "a.b@example.org"], daskhub_local_system_users=False)
    result = play(site, "--check")
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_misspelled_variable_names_the_closest_known_one(site):
    with_vars(site, daskhub_gatway_worker_cores=4)
    out = failure(play(site), site)
    assert (
        "daskhub_gatway_worker_cores: not a variable of this project (did you mean daskhub_gateway_worker_cores?)"
    ) in out
    assert "daskhub_site_*" in out


def test_site_specific_variables_opt_out_under_their_prefix(site):
    with_vars(site, daskhub_site_contact="ops@example.org")
    result = play(site, "--check")
    assert result.returncode == 0, result.stdout[-3000:]


def test_type_errors_read_as_written_and_come_with_every_other_problem(site):
    with_vars(
        site,
        daskhub_singleuser_start_timeout="soon",
        daskhub_users="alice,bob",
        daskhub_gateway_worker_cores={"default": 9, "min": 1, "max": 4},
        daskhub_gatway_worker_memory=4,
    )
    out = failure(play(site), site)
    assert "_Ansible" not in out
    assert "class" not in out
    # One failed task, whose message lists every problem.
    assert out.count("fatal: [localhost]") == 1, out[-3000:]
    assert 'daskhub_singleuser_start_timeout: must be a whole number, got "soon"' in out
    assert 'daskhub_users: must be a list, got "alice,bob"' in out
    assert "daskhub_gateway_worker_cores: needs min <= default <= max" in out
    assert "daskhub_gatway_worker_memory: not a variable of this project" in out


def test_a_secret_of_the_wrong_type_is_not_shown(site):
    with_vars(site, daskhub_dummy_password=["not", "shown"])
    out = failure(play(site), site)
    assert "daskhub_dummy_password: must be a string" in out
    assert "shown" not in out.replace("not shown", "")


def test_root_is_never_a_hub_users_account(site):
    """The probe: daskhub_users [alice, root] deployed, and the shared password then gave a root notebook."""
    with_vars(site, daskhub_users=["alice", "root"], daskhub_admin_users=["root"])
    out = failure(play(site), site)
    assert "daskhub_users[1]: 'root' is the superuser's account: no hub user or service may run as root" in out
    assert "daskhub_admin_users[0]: 'root' is the superuser's account" in out


def test_a_short_or_blank_dummy_password_is_refused_without_being_shown(site):
    with_vars(site, daskhub_dummy_password=" ")
    out = failure(play(site), site)
    assert "daskhub_dummy_password: 0 characters without the spaces around them" in out
    assert "at least 16" in out
    with_vars(site, daskhub_dummy_password="hunter2-secret")
    out = failure(play(site), site)
    assert "daskhub_dummy_password: 14 characters" in out
    assert "hunter2" not in out


def test_a_public_bind_address_with_the_dummy_authenticator_and_no_https_is_refused(site):
    """Issue 22, item 2: the site open to the network is refused before anything changes, naming the variables."""
    with_vars(site, daskhub_local_bind_ip="0.0.0.0")  # noqa: S104  the setting under test
    out = failure(play(site), site)
    assert "daskhub_https_enabled: must be true when daskhub_local_bind_ip is 0.0.0.0" in out
    assert "daskhub_authenticator: dummy is refused when daskhub_local_bind_ip is 0.0.0.0" in out
    assert "daskhub_allow_insecure_public_site" in out


def test_the_documented_override_accepts_the_public_site(site):
    with_vars(site, daskhub_local_bind_ip="0.0.0.0", daskhub_allow_insecure_public_site=True)  # noqa: S104
    result = play(site, "--check")
    assert result.returncode == 0, result.stdout[-3000:]
