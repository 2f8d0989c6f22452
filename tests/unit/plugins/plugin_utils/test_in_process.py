"""plugin_utils/in_process.py: a local module's work in the worker gives the module's own result.

One playbook runs the same tasks on two hosts of this machine: ``here``
(the controller's interpreter: the work runs in the worker) and ``other``
(the same interpreter by another name: the module runs as usual). Each
result must be the module's, with no module process started for ``here``
(``-vvv`` shows each module's exec) and no secret in the output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork
from ansible_collections.daskhub.deploy.plugins.plugin_utils.in_process import as_module_receives, run_work
from support.playbooks import MODULE_PROCESS_PYTHON, run_playbook

HOSTS = ("here", "other")
SECRET = "in-process-secret-0123456789abcdef"
# Keys only a module process adds (AnsibleModule's record of its arguments).
MODULE_ONLY = ("invocation",)


def _tasks(work: Path) -> list[dict]:
    base = "{{ base }}"  # each host's own folder (the inventory's)
    files_args = {
        # A key is not templated: the whole mapping is.
        "directories": "{{ {base ~ '/etc': '0755'} }}",
        "files": [{"path": f"{base}/etc/settings.json", "content": "{}\n"}],
        "secret_files": [{"path": f"{base}/etc/key", "content": SECRET}],
    }
    return [
        {"name": "Files, checked", "daskhub.deploy.local_files": files_args, "check_mode": True, "diff": True},
        {"name": "Files, written", "daskhub.deploy.local_files": files_args},
        {"name": "Files, again", "daskhub.deploy.local_files": files_args},
        {
            "name": "Files, an owner that is no account",
            "daskhub.deploy.local_files": {
                "files": [{"path": f"{base}/etc/other", "content": "x", "owner": "no-such-account-here"}]
            },
        },
        # The spec's required_if refuses this before any work.
        {
            "name": "Venv, uv without its version",
            "daskhub.deploy.local_venv": {"venv": f"{base}/venv", "python": sys.executable, "requirements": []},
        },
        {
            "name": "Venv, an unknown option",
            "daskhub.deploy.local_venv": {
                "venv": f"{base}/venv",
                "python": sys.executable,
                "requirements": [],
                "installer": "pip",
                "no_such_option": 1,
            },
        },
        # The task's environment reaches the work: the tool is found on its PATH only.
        {
            "name": "A tool on the task's PATH",
            "daskhub.deploy.local_files": {
                "directories": "{{ {base ~ '/bin': '0755'} }}",
                "files": [{"path": f"{base}/bin/daskhub-env-probe", "content": "#!/bin/sh\n", "mode": "0755"}],
            },
        },
        {
            "name": "Preflight, the tool looked up on PATH",
            "daskhub.deploy.local_preflight": {
                "prefix": f"{base}/prefix",
                "ports": {},
                "tools": {"probe": "daskhub-env-probe"},
            },
            "environment": {"PATH": "{{ base }}/bin:{{ lookup('ansible.builtin.env', 'PATH') }}"},
        },
        # Delegated to the host itself: the delegate's variables decide (here: the worker; other: a module).
        {
            "name": "Files, delegated",
            "daskhub.deploy.local_files": files_args,
            "delegate_to": "{{ inventory_hostname }}",
        },
        # A supervisord that is not there: the start fails.
        {
            "name": "Supervisord that is not installed",
            "daskhub.deploy.local_supervisord": {
                "venv_bin": f"{base}/none/bin",
                "config": f"{base}/none.conf",
                "timeout": 5,
            },
        },
    ]


def _run_both_ways(work: Path):
    inventory = work / "hosts.yml"
    local = {"ansible_connection": "local"}
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "here": {
                            **local,
                            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                            "base": f"{work}/here",
                        },
                        "other": {
                            **local,
                            "ansible_python_interpreter": MODULE_PROCESS_PYTHON,
                            "base": f"{work}/other",
                        },
                    }
                }
            }
        )
    )
    tasks = []
    for number, task in enumerate(_tasks(work)):
        tasks.append({**task, "register": f"result_{number}", "ignore_errors": True})
    keep = "{{ [" + ", ".join(f"result_{n}" for n in range(len(tasks))) + "] | to_json }}"
    tasks.append(
        {
            "name": "Keep the results",
            "ansible.builtin.copy": {
                "dest": f"{work}/{{{{ inventory_hostname }}}}.json",
                "content": keep,
                "mode": "0600",
            },
        }
    )
    playbook = work / "play.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Both ways", "hosts": "all", "gather_facts": False, "tasks": tasks}]))
    proc = run_playbook(str(playbook), "-vvv", "--diff", inventory=inventory, merge_stderr=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    results = {host: json.loads((work / f"{host}.json").read_text()) for host in HOSTS}
    return work, results, proc.stdout


def _comparable(result: dict, work: Path, host: str) -> dict:
    text = json.dumps({k: v for k, v in result.items() if k not in MODULE_ONLY}, sort_keys=True)
    return json.loads(text.replace(f"{work}/{host}", "<base>"))


# One test for the one playbook run: ansible-test forks each test, so a
# module fixture would run it again for every test.
def test_each_result_is_the_modules_no_module_process_starts_and_no_secret_shows(tmp_path):
    work, results, output = _run_both_ways(tmp_path)
    here, other = ([_comparable(r, work, host) for r in results[host]] for host in HOSTS)
    for number, (mine, module) in enumerate(zip(here, other, strict=True)):
        assert mine == module, _tasks(work)[number]["name"]
    checked, written, again, no_owner, no_version, unknown, _tool, preflight, delegated, no_supervisor = here
    assert (checked["changed"], written["changed"], again["changed"]) == (True, True, False)
    assert checked["diff"]
    assert (work / "here" / "etc" / "key").read_text() == SECRET
    assert no_owner["failed"] and no_owner["msg"] == "owner 'no-such-account-here' is not an account on this host"
    assert no_version["failed"] and "uv_version" in no_version["msg"]
    assert unknown["failed"] and "no_such_option" in unknown["msg"]
    assert preflight.get("tools", {}).get("probe") == "<base>/bin/daskhub-env-probe", preflight
    assert not delegated["changed"] and not delegated.get("failed"), delegated
    assert no_supervisor["failed"] and "/none/bin/supervisord" in no_supervisor["msg"]
    # -vvv shows each module process's exec: only the other host's (the copy above runs as a module on both).
    started = [line for line in output.splitlines() if "AnsiballZ_local_" in line and "EXEC" in line]
    assert started, "the other host's modules show their exec at -vvv"
    assert all("<other>" in line for line in started), started
    assert SECRET not in output


def _run(work, **options) -> dict:
    return run_work(
        "daskhub.deploy.test", ModuleWork({"argv": {"type": "list", "elements": "str"}}, work), options, False, False
    )


def test_a_command_that_cannot_start_fails_the_work_as_run_command_does(tmp_path):
    missing = str(tmp_path / "no-such-program")
    result = _run(lambda module: {"rc": module.run_command(module.params["argv"])[0]}, argv=[missing])
    # AnsibleModule.run_command: the OSError's errno and message, the module failed.
    assert (result["failed"], result["rc"]) == (True, 2)
    assert missing in result["msg"]


def test_a_command_runs_with_its_output_and_the_works_warnings_are_the_results():
    def work(module):
        rc, out, err = module.run_command(module.params["argv"])
        module.warn("as the module warns")
        return {"answer": [rc, out, err]}

    result = _run(work, argv=[sys.executable, "-c", "import sys; print('out'); sys.exit(3)"])
    assert result == {"answer": [3, "out\n", ""], "changed": False, "warnings": ["as the module warns"]}


def test_the_result_is_what_the_modules_json_would_carry():
    result = _run(lambda module: {"names": ("a",), "ids": {3}})
    assert result == {"names": ["a"], "ids": [3], "changed": False}


def test_the_work_reads_plain_values_as_a_modules_process_does():
    # What a task's arguments are made of: Ansible's tagged types, which
    # PyYAML's safe dump refuses (helm_values writes its values with it).
    task_args = DataLoader().load("type: LoadBalancer\nports: [80, https]\n")
    with pytest.raises(yaml.representer.RepresenterError):
        yaml.safe_dump(task_args)
    received = as_module_receives(task_args)
    assert yaml.safe_load(yaml.safe_dump(received)) == {"type": "LoadBalancer", "ports": [80, "https"]}


def test_a_refused_no_log_value_is_not_in_the_message():
    spec = {"token": {"type": "str", "no_log": True, "choices": ["a"]}}
    result = run_work("daskhub.deploy.test", ModuleWork(spec, dict), {"token": SECRET}, False, False)
    assert result["failed"] and result["msg"].startswith("value of token must be one of: a, got: ")
    assert SECRET not in json.dumps(result)
