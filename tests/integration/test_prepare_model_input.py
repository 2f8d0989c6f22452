"""Site-model input through playbooks/prepare.yml (issue 11, item 4).

The probes: a user name with a space was accepted, a misspelled variable was
ignored, and a string for a number printed ``_AnsibleTaggedStr`` and hid
the other problems. Each now fails the play before anything changes, in
one message that names every variable as the inventory spells it.

Every case is a host of one inventory (support/host_cases.py): one run of
prepare.yml checks them all, each host with its own state dir, so a refused
case shows that nothing was written for it while an accepted one ran on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from support.host_cases import CasesRun, run_host_cases
from support.playbooks import ROOT

PLAYBOOK = ROOT / "playbooks" / "prepare.yml"
# One run for the module: its tests go to one xdist worker.
pytestmark = pytest.mark.xdist_group("prepare_model_input")

LONG_NAME = "a" * 33
# A secret of the wrong type: the message names the variable, never the value.
WRONG_TYPE_SECRET = "wrong-type-secret-7c1d"
SHORT_PASSWORD = "hunter2-secret"
# Host name -> the variables the case sets over the default site's model.
CASES = {
    "space": {"daskhub_users": ["alice", "carol smith"]},
    "capitals_slash": {"daskhub_admin_users": ["Admin"], "daskhub_blocked_users": ["mallory/x"]},
    # As root the default (daskhub_local_system_users: auto) is system accounts.
    "system_accounts": {"daskhub_users": ["alice", "1bob", LONG_NAME]},
    "no_system_accounts": {
        "daskhub_users": ["alice", "1bob", "a.b@example.org"],
        "daskhub_local_system_users": False,
    },
    "misspelled": {"daskhub_gatway_worker_cores": 4},
    "site_specific": {"daskhub_site_contact": "ops@example.org"},
    "type_errors": {
        "daskhub_singleuser_start_timeout": "soon",
        "daskhub_users": "alice,bob",
        "daskhub_gateway_worker_cores": {"default": 9, "min": 1, "max": 4},
        "daskhub_gatway_worker_memory": 4,
    },
    "image_without_tag": {"daskhub_gateway_worker_image": "pangeo/base-notebook"},
    "bad_choice": {"daskhub_target": "vm"},
    "wrong_type_secret": {"daskhub_dummy_password": [WRONG_TYPE_SECRET, "x"]},
    "root": {"daskhub_users": ["alice", "root"], "daskhub_admin_users": ["root"]},
    "blank_password": {"daskhub_dummy_password": " "},
    "short_password": {"daskhub_dummy_password": SHORT_PASSWORD},
    "public_bind": {"daskhub_local_bind_ip": "0.0.0.0"},  # noqa: S104  the setting under test
    "public_bind_override": {"daskhub_local_bind_ip": "0.0.0.0", "daskhub_allow_insecure_public_site": True},  # noqa: S104
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> tuple[CasesRun, Path]:
    """prepare.yml run once over every case of CASES; (the run, the inventory)."""
    inventory = tmp_path_factory.mktemp("cases") / "site"
    shutil.copytree(ROOT / "inventories" / "local", inventory, ignore=shutil.ignore_patterns("state"))
    variables = {
        name: {**settings, "daskhub_state_dir": str(inventory / f"state-{name}")} for name, settings in CASES.items()
    }
    return run_host_cases(PLAYBOOK, inventory, variables), inventory


def refused(cases: tuple[CasesRun, Path], name: str) -> str:
    """The case's failure message; fails unless the play stopped it before anything was written."""
    run, inventory = cases
    message = run.refusal(name)
    assert not (inventory / f"state-{name}").exists(), f"{name}: something changed before the model was checked"
    return message


def accepted(cases: tuple[CasesRun, Path], name: str) -> None:
    cases[0].accepted(name)


def test_a_user_name_with_a_space_is_refused(cases):
    assert "daskhub_users[1]: 'carol smith' contains whitespace" in refused(cases, "space")


def test_names_with_capitals_or_a_slash_are_refused(cases):
    out = refused(cases, "capitals_slash")
    assert "daskhub_admin_users[0]: 'Admin' has capitals: JupyterHub lowercases login names, write 'admin'" in out
    assert "daskhub_blocked_users[0]: 'mallory/x' contains '/'" in out


def test_system_accounts_need_account_names(cases):
    out = refused(cases, "system_accounts")
    assert "daskhub_users[1]: '1bob' is not a valid system account name" in out
    assert f"daskhub_users[2]: '{LONG_NAME}' is longer than 32 characters" in out


def test_the_same_names_pass_without_system_accounts(cases):
    accepted(cases, "no_system_accounts")


def test_a_misspelled_variable_names_the_closest_known_one(cases):
    out = refused(cases, "misspelled")
    assert (
        "daskhub_gatway_worker_cores: not a variable of this project (did you mean daskhub_gateway_worker_cores?)"
    ) in out
    assert "daskhub_site_*" in out


def test_site_specific_variables_opt_out_under_their_prefix(cases):
    accepted(cases, "site_specific")


def test_type_errors_read_as_written_and_come_with_every_other_problem(cases):
    out = refused(cases, "type_errors")
    assert "_Ansible" not in out
    assert "class" not in out
    # One failed task, whose message lists every problem.
    assert len(cases[0]["type_errors"].messages) == 1, out
    assert 'daskhub_singleuser_start_timeout: must be a whole number, got "soon"' in out
    assert 'daskhub_users: must be a list, got "alice,bob"' in out
    assert "daskhub_gateway_worker_cores: needs min <= default <= max" in out
    assert "daskhub_gatway_worker_memory: not a variable of this project" in out


def test_an_image_without_a_tag_is_refused(cases):
    assert "When specifying an image you must also provide a tag" in refused(cases, "image_without_tag")


def test_a_bad_choice_is_named_with_the_value(cases):
    out = refused(cases, "bad_choice")
    assert "daskhub_target" in out
    assert "vm" in out.split("daskhub_target", 1)[1][:300]


def test_a_secret_of_the_wrong_type_is_not_shown(cases):
    assert "daskhub_dummy_password: must be a string" in refused(cases, "wrong_type_secret")
    assert WRONG_TYPE_SECRET not in cases[0].output


def test_root_is_never_a_hub_users_account(cases):
    """The probe: daskhub_users [alice, root] deployed, and the shared password then gave a root notebook."""
    out = refused(cases, "root")
    assert "daskhub_users[1]: 'root' is the superuser's account: no hub user or service may run as root" in out
    assert "daskhub_admin_users[0]: 'root' is the superuser's account" in out


def test_a_short_or_blank_dummy_password_is_refused_without_being_shown(cases):
    out = refused(cases, "blank_password")
    assert "daskhub_dummy_password: 0 characters without the spaces around them" in out
    assert "at least 16" in out
    assert "daskhub_dummy_password: 14 characters" in refused(cases, "short_password")
    assert "hunter2" not in cases[0].output


def test_a_public_bind_address_with_the_dummy_authenticator_and_no_https_is_refused(cases):
    """Issue 22, item 2: the site open to the network is refused before anything changes, naming the variables."""
    out = refused(cases, "public_bind")
    assert "daskhub_https_enabled: must be true when daskhub_local_bind_ip is 0.0.0.0" in out
    assert "daskhub_authenticator: dummy is refused when daskhub_local_bind_ip is 0.0.0.0" in out
    assert "daskhub_allow_insecure_public_site" in out


def test_the_documented_override_accepts_the_public_site(cases):
    accepted(cases, "public_bind_override")


def test_the_accepted_cases_have_their_secrets_store(cases):
    """The accepted cases ran on through the secrets role: each has a store of its own, mode 0600."""
    _run, inventory = cases
    for name in ("no_system_accounts", "site_specific", "public_bind_override"):
        store = inventory / f"state-{name}" / "secrets.yml"
        assert oct(store.stat().st_mode & 0o777) == "0o600", name
        assert yaml.safe_load(store.read_text()), name
