"""The daskhub.deploy.secrets action plugin and the daskhub_secrets role, run by ansible-playbook."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from support.playbooks import VENV_BIN, recap, run_playbook

HEX64 = re.compile(r"^[0-9a-f]{64}$")
NAMES = ("proxy_secret_token", "cookie_secret", "dask_gateway_api_token")
VAULT_PASSWORD = "test vault password"

# The secrets task has no no_log on purpose: the plugin alone must keep the
# values off the screen. The report task hands the values to the test (which
# compares them with the store); it runs in check mode too.
PLAYBOOK = """
- name: Exercise daskhub.deploy.secrets
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ensure the secrets
      daskhub.deploy.secrets:
        path: "{{ store_path }}"
        names: "{{ secret_names }}"
        rotate: "{{ rotate | default([]) }}"
        provided: "{{ provided | default({}) }}"
        authoritative: "{{ authoritative | default({}) }}"
        vault_encrypt: "{{ vault_encrypt | default(false) }}"
      register: ensured

    - name: Check that the variable holds every secret
      ansible.builtin.assert:
        that:
          - daskhub_secrets.keys() | sort == secret_names | sort
          - daskhub_secrets.values() | select('string') | select('!=', '') | list | length == secret_names | length
        quiet: true

    - name: Report to the test
      test_report:
        dest: "{{ report_path }}"
        data:
          values: "{{ daskhub_secrets }}"
          created: "{{ ensured.created }}"
          rotated: "{{ ensured.rotated }}"
          synced: "{{ ensured.synced }}"
      no_log: true
"""

ROLE_PLAYBOOK = """
- name: Run the daskhub_secrets role
  hosts: localhost
  gather_facts: false
  roles:
    - role: daskhub_secrets
  tasks:
    - name: Report to the test
      test_report:
        dest: "{{ report_path }}"
        data: "{{ daskhub_secrets }}"
      no_log: true
"""

# Found next to the playbooks (action_plugins/). It writes on the controller
# without running a module, which keeps each playbook run near one second,
# and reports no change so that the recap counts the secrets task alone.
REPORT_ACTION = """
import json

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        with open(self._task.args["dest"], "w") as handle:
            json.dump(self._task.args["data"], handle)
        result["changed"] = False
        return result
"""


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[str], report_path: Path) -> None:
        self.returncode = proc.returncode
        self.output = proc.stdout + proc.stderr
        counts = recap(self.output, required=False) or {}
        self.changed = counts.get("changed")
        self.failed = counts.get("failed")
        self.report = json.loads(report_path.read_text()) if report_path.exists() else None


@pytest.fixture
def site(tmp_path: Path):
    """Runs the test playbook against a store in tmp_path."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    role_playbook = tmp_path / "role.yml"
    role_playbook.write_text(ROLE_PLAYBOOK)
    (tmp_path / "action_plugins").mkdir()
    (tmp_path / "action_plugins" / "test_report.py").write_text(REPORT_ACTION)
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    store = tmp_path / "state" / "secrets.yml"

    def run(*args: str, names=NAMES, role=False, expect_failure=False, **extra_vars) -> Run:
        report = tmp_path / "report.json"
        report.unlink(missing_ok=True)
        variables = {"store_path": str(store), "secret_names": list(names), "report_path": str(report), **extra_vars}
        proc = run_playbook(
            *("-i", "localhost,", "-c", "local"),
            *("-e", f"ansible_python_interpreter={VENV_BIN / 'python'}"),
            *("-e", json.dumps(variables)),
            *args,
            str(role_playbook if role else playbook),
        )
        result = Run(proc, report)
        if expect_failure:
            assert result.returncode != 0, result.output
        else:
            assert result.returncode == 0, result.output
        return result

    run.store = store
    run.password_file = password_file
    run.tmp_path = tmp_path
    return run


def read_store(path: Path) -> dict[str, str]:
    raw = path.read_bytes()
    if raw.startswith(b"$ANSIBLE_VAULT"):
        raw = VaultLib(secrets=[("default", VaultSecret(VAULT_PASSWORD.encode()))]).decrypt(raw)
    return yaml.safe_load(raw)


def vaulted(value: str) -> str:
    """A `!vault` block scalar for a key indented by two spaces, as ansible-vault encrypt_string prints it."""
    ciphertext = VaultLib(secrets=[("default", VaultSecret(VAULT_PASSWORD.encode()))]).encrypt(value)
    return "!vault |\n" + "".join(f"    {line}\n" for line in ciphertext.decode().splitlines())


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_creates_the_store_then_a_second_run_changes_nothing(site):
    first = site()

    assert first.changed == 1
    values = first.report["values"]
    assert sorted(values) == sorted(NAMES)
    assert all(HEX64.match(value) for value in values.values())
    assert len(set(values.values())) == len(NAMES)
    assert sorted(first.report["created"]) == sorted(NAMES)
    assert read_store(site.store) == values
    assert mode(site.store) == 0o600
    assert mode(site.store.parent) == 0o700
    content = site.store.read_bytes()

    second = site()

    assert second.changed == 0
    assert second.report["values"] == values
    assert second.report["created"] == []
    assert site.store.read_bytes() == content


def test_check_mode_creates_no_file(site):
    checked = site("--check")

    assert checked.changed == 1
    # Throw-away values, so that later tasks can still render in check mode.
    assert all(HEX64.match(value) for value in checked.report["values"].values())
    assert not site.store.parent.exists()

    real = site()
    assert real.changed == 1
    content = site.store.read_bytes()

    again = site("--check", "--diff")
    assert again.changed == 0
    assert again.report["values"] == real.report["values"]
    assert site.store.read_bytes() == content


def test_rotation_replaces_only_the_named_secret(site):
    first = site().report["values"]
    content = site.store.read_bytes()

    rotated = site("--diff", rotate=["cookie_secret"])

    assert rotated.changed == 1
    assert rotated.report["rotated"] == ["cookie_secret"]
    assert "+cookie_secret: <rotated>" in rotated.output
    values = rotated.report["values"]
    assert HEX64.match(values["cookie_secret"])
    assert values["cookie_secret"] != first["cookie_secret"]
    assert {k: v for k, v in values.items() if k != "cookie_secret"} == {
        k: v for k, v in first.items() if k != "cookie_secret"
    }
    assert read_store(site.store) == values
    assert mode(site.store) == 0o600
    assert site.store.read_bytes() != content


def test_rotating_an_unknown_name_fails_before_anything_changes(site):
    site()
    content = site.store.read_bytes()

    failed = site(rotate=["cookie_secret", "cookie_secrte"], expect_failure=True)

    assert "rotate lists secrets that are not in names: cookie_secrte" in failed.output
    assert site.store.read_bytes() == content


BAD_ARGUMENTS = [
    ({"path": "{{ store_path }}"}, "missing required arguments: names"),
    ({"path": "{{ store_path }}", "names": ["a"], "colour": "red"}, "Unsupported parameters"),
    ({"path": "{{ store_path }}", "names": ["a"], "vault_encrypt": "perhaps"}, "vault_encrypt"),
    ({"path": "{{ store_path }}", "names": ["a"], "fact_name": "not-an-identifier"}, "not a valid variable name"),
    ({"path": "{{ store_path }}", "names": ["bad name"]}, "invalid secret name 'bad name'"),
    ({"path": "{{ store_path }}", "names": ["a"], "provided": {"a": 5}}, "provided['a'] must be a string"),
]


def test_bad_arguments_give_a_clear_error_before_anything_changes(site):
    # One playbook for all cases: each ansible-playbook start costs a second.
    playbook = site.tmp_path / "bad.yml"
    tasks = [
        {"name": f"Bad arguments {number}", "daskhub.deploy.secrets": args, "ignore_errors": True}
        for number, (args, _message) in enumerate(BAD_ARGUMENTS)
    ]
    playbook.write_text(yaml.safe_dump([{"name": "Bad", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    proc = run_playbook(
        *("-i", "localhost,", "-c", "local"),
        *("-e", json.dumps({"store_path": str(site.store)}), str(playbook)),
    )
    output = proc.stdout + proc.stderr

    assert recap(output)["ignored"] == len(BAD_ARGUMENTS), output
    for number, (_args, message) in enumerate(BAD_ARGUMENTS):
        task_output = output.split(f"TASK [Bad arguments {number}]")[1].split("TASK [")[0]
        assert message in task_output
    assert not site.store.parent.exists()


def test_vault_encrypted_store(site):
    vault = f"--vault-password-file={site.password_file}"

    first = site(vault, vault_encrypt=True)

    raw = site.store.read_bytes()
    assert raw.startswith(b"$ANSIBLE_VAULT;1.1;AES256\n")
    for value in first.report["values"].values():
        assert value.encode() not in raw
    assert read_store(site.store) == first.report["values"]
    assert mode(site.store) == 0o600

    # Encrypted stays encrypted without vault_encrypt, and nothing changes.
    second = site(vault)
    assert second.changed == 0
    assert second.report["values"] == first.report["values"]
    assert site.store.read_bytes() == raw

    rotated = site(vault, rotate=["proxy_secret_token"])
    assert rotated.changed == 1
    assert site.store.read_bytes().startswith(b"$ANSIBLE_VAULT")
    assert read_store(site.store) == rotated.report["values"]
    raw = site.store.read_bytes()

    without_password = site(expect_failure=True)
    assert "is encrypted with Ansible Vault but no vault password was given" in without_password.output
    assert str(site.store) in without_password.output

    wrong = site.tmp_path / "wrong-password"
    wrong.write_text("not the password\n")
    wrong_password = site(f"--vault-password-file={wrong}", expect_failure=True)
    assert "cannot be decrypted" in wrong_password.output
    assert site.store.read_bytes() == raw


def test_a_plain_store_is_encrypted_on_request(site):
    plain = site().report["values"]

    encrypted = site(f"--vault-password-file={site.password_file}", "--diff", vault_encrypt=True)

    assert encrypted.changed == 1
    assert "+# mode 0600, encrypted with Ansible Vault: yes" in encrypted.output
    assert site.store.read_bytes().startswith(b"$ANSIBLE_VAULT")
    assert encrypted.report["values"] == plain


def test_a_corrupt_store_fails_the_task_and_is_left_untouched(site):
    site.store.parent.mkdir()
    site.store.write_bytes(b"proxy_secret_token: [not closed\n")

    failed = site(expect_failure=True)

    assert f"secrets store {site.store}: is not valid YAML" in failed.output
    assert site.store.read_bytes() == b"proxy_secret_token: [not closed\n"


def test_provided_and_authoritative_values(site):
    vars_file = site.tmp_path / "operator.yml"
    vars_file.write_text(
        "provided:\n"
        f"  oauth_client_secret: {vaulted('operator-oauth-secret')}"
        "  dummy_password: ''\n"
        "authoritative:\n"
        "  cookie_secret: cookie-from-the-cluster\n"
    )
    names = [*NAMES, "oauth_client_secret", "dummy_password"]

    run = site(f"--vault-password-file={site.password_file}", "-e", f"@{vars_file}", names=names)

    values = run.report["values"]
    assert values["oauth_client_secret"] == "operator-oauth-secret"
    assert values["cookie_secret"] == "cookie-from-the-cluster"
    assert HEX64.match(values["dummy_password"])
    assert run.report["synced"] == ["cookie_secret"]
    on_disk = read_store(site.store)
    assert "oauth_client_secret" not in on_disk
    assert b"operator-oauth-secret" not in site.store.read_bytes()
    assert on_disk["cookie_secret"] == "cookie-from-the-cluster"
    assert on_disk["dummy_password"] == values["dummy_password"]


def test_vvv_output_never_contains_a_value(site):
    """Every run shape at -vvv with --diff; no value from the store may appear."""
    vars_file = site.tmp_path / "operator.yml"
    vars_file.write_text(
        f"provided:\n  oauth_client_secret: {vaulted('operator-oauth-secret')}"
        "authoritative:\n  cookie_secret: cookie-from-the-cluster\n"
    )
    vault = f"--vault-password-file={site.password_file}"
    names = [*NAMES, "oauth_client_secret"]
    values = set()
    runs = []
    for args, extra_vars in [
        (["--check"], {}),
        ([], {}),
        ([], {}),
        ([], {"rotate": ["proxy_secret_token"]}),
        (["-e", f"@{vars_file}"], {"vault_encrypt": True}),
        ([], {"rotate": ["typo"], "expect_failure": True}),
    ]:
        run = site("-vvv", "--diff", vault, *args, names=names, **extra_vars)
        runs.append(run)
        if run.report:
            values.update(run.report["values"].values())
        if site.store.exists():
            values.update(read_store(site.store).values())
    # Check-mode values, the generated ones, a rotation, the cluster's value
    # and the operator's.
    assert "operator-oauth-secret" in values
    assert "cookie-from-the-cluster" in values
    assert len(values) >= 2 * len(NAMES) + 3

    output = "\n".join(run.output for run in runs)
    leaked = sorted(value for value in values if value in output)
    assert leaked == []
    # The runs did show their work: the diffs name what changed.
    assert "+proxy_secret_token: <rotated>" in output
    assert "+cookie_secret: <from the cluster>" in output
    assert "+dask_gateway_api_token: <created>" in output
    assert "+# mode 0600, encrypted with Ansible Vault: yes" in output


def test_the_role_keeps_the_store_and_never_prints_it(site):
    state = site.tmp_path / "site" / "state"
    common = {"daskhub_state_dir": str(state)}

    first = site("-vvv", role=True, **common)
    second = site("-vvv", "--diff", role=True, **common)
    operator = site(role=True, daskhub_dummy_password="chosen-by-operator", **common)

    store = state / "secrets.yml"
    on_disk = read_store(store)
    assert first.changed == 1
    assert second.changed == 0
    assert first.report == second.report
    assert set(first.report) <= set(on_disk)
    assert all(HEX64.match(value) for value in first.report.values())
    assert mode(store) == 0o600
    assert operator.report["dummy_password"] == "chosen-by-operator"
    assert "chosen-by-operator" not in store.read_text()
    for value in on_disk.values():
        assert value not in first.output
        assert value not in second.output
