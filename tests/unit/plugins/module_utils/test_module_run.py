"""ModuleWork.run_as_module, the one way a module runs: real modules run by Ansible as module processes.

local_files on a temporary folder: its result, check mode, a failure with
the module's message (FilesError); jupyterhub_user_source: a failure of
the work's own kind (SourceError) and an argument refused by the spec
(its ``required_if``) before the work runs; site_backup_check: a failure
that lists every reason; site_backup: a failure recorded, a missing backup named; sqlite_backup: a
missing database named, and its ``mutually_exclusive`` refusing; local_tls_state: a read that changes
nothing; helm_values on a Python without PyYAML: the missing library named.

One playbook runs them all on localhost with another name of the
controller's interpreter (support.playbooks.MODULE_PROCESS_PYTHON), so each
runs as a module process (on the controller's own interpreter its work
would run in Ansible's worker, plugin_utils/in_process.py), and
helm_values with the bare interpreter as the task's. One test for the one
run: ansible-test forks each test, so a module fixture would run it again
for every test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import yaml
from support import kubernetes_site
from support.playbooks import MODULE_PROCESS_PYTHON, run_playbook


def _bare_python(tmp_path) -> str:
    """A Python without PyYAML: a bare venv of the interpreter .venv was made from."""
    base = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    bare = tmp_path / "bare"
    subprocess.run([f"{base}/bin/python3", "-m", "venv", "--without-pip", str(bare)], check=True, timeout=60)
    return f"{bare}/bin/python"


def _tasks(tmp_path, bare_python: str) -> list[tuple[str, dict]]:
    files = {"directories": {str(tmp_path / "etc"): "0755"}}
    backup = {"site": "s", "target": "local"}
    model = kubernetes_site.model()
    return [
        (
            "local_files",
            {**files, "files": [{"path": str(tmp_path / "etc/checked.json"), "content": "{}\n"}], "_check": True},
        ),
        ("local_files", {**files, "files": [{"path": str(tmp_path / "etc/settings.json"), "content": "{}\n"}]}),
        ("local_files", {"files": [{"path": str(tmp_path / "f"), "content": "x", "owner": "no-such-account-here"}]}),
        ("jupyterhub_user_source", {"sources": [{"type": "file", "path": str(tmp_path / "no")}]}),
        ("jupyterhub_user_source", {"sources": [{"type": "http"}]}),
        ("site_backup_check", {**backup, "path": str(tmp_path / "none"), "versions": {}, "hub_upgrades_db": False}),
        (
            "site_backup",
            {
                **backup,
                "path": str(tmp_path / "b1"),
                "status_file": str(tmp_path / "last-backup.json"),
                "state": "failed",
                "error": "disk full",
            },
        ),
        ("site_backup", {**backup, "path": str(tmp_path / "b1"), "status_file": str(tmp_path / "last-backup.json")}),
        ("sqlite_backup", {"src": str(tmp_path / "none.sqlite"), "dest_dir": str(tmp_path / "backups")}),
        ("sqlite_backup", {"src": str(tmp_path / "none.sqlite"), "dest_dir": str(tmp_path), "dest": str(tmp_path)}),
        ("local_tls_state", {"directories": [{"name": "tls", "path": str(tmp_path / "tls"), "mode": "0700"}]}),
        (
            "helm_values",
            {
                "model": model,
                "secrets": kubernetes_site.secrets(model),
                "dest": str(tmp_path / "build"),
                "chart_data_dir": str(kubernetes_site.CHART_DATA),
                "files_dir": str(kubernetes_site.REPO / "plugins" / "files"),
                "_python": bare_python,
            },
        ),
    ]


def _run_as_modules(tmp_path) -> list[dict]:
    tasks = []
    for number, (module, spec) in enumerate(_tasks(tmp_path, _bare_python(tmp_path))):
        args = dict(spec)
        task = {"name": f"{number}: {module}", "register": f"result_{number}", "ignore_errors": True}
        if args.pop("_check", False):
            task["check_mode"] = True
        if "_python" in args:
            task["vars"] = {"ansible_python_interpreter": args.pop("_python")}
        tasks.append({**task, f"daskhub.deploy.{module}": args})
    keep = "{{ [" + ", ".join(f"result_{n}" for n in range(len(tasks))) + "] | to_json }}"
    tasks.append(
        {
            "name": "Keep the results",
            "ansible.builtin.copy": {"dest": f"{tmp_path}/results.json", "content": keep, "mode": "0600"},
        }
    )
    # The interpreter as the play's variable: helm_values' task variable overrides it (an extra var would not).
    play = {"name": "Modules as processes", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    play["vars"] = {"ansible_python_interpreter": MODULE_PROCESS_PYTHON}
    (tmp_path / "play.yml").write_text(yaml.safe_dump([play]))
    proc = run_playbook("-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"), merge_stderr=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads((tmp_path / "results.json").read_text())


def test_each_modules_result_failure_and_refusal_is_the_works(tmp_path):
    results = _run_as_modules(tmp_path)
    checked, written, no_owner, no_source, no_url, no_backup, failed, missing = results[:8]
    no_database, both_destinations, tls_state, no_yaml = results[8:]
    # The work's result is the module's, and check mode reaches it.
    assert (checked["changed"], (tmp_path / "etc/checked.json").exists()) == (True, False)
    assert (written["changed"], (tmp_path / "etc/settings.json").read_text()) == (True, "{}\n")
    # A failure of the work is the module's message.
    assert no_owner["failed"] and no_owner["msg"] == "owner 'no-such-account-here' is not an account on this host"
    assert no_source["failed"] and str(tmp_path / "no") in no_source["msg"]
    # The spec's required_if refuses before the work runs.
    assert no_url["failed"] and "url" in no_url["msg"]
    # A check that fails names every reason.
    assert no_backup["failed"] and no_backup["msg"].startswith("Cannot restore, nothing was changed:\n- ")
    # A failed backup is recorded, a missing one named.
    assert not failed.get("failed") and (failed["status"]["ok"], failed["status"]["error"]) == (False, "disk full")
    assert '"ok": false' in (tmp_path / "last-backup.json").read_text()
    assert missing["failed"] and missing["msg"] == f"no backup folder at {tmp_path / 'b1'}"
    assert no_database["failed"] and no_database["msg"] == f"no database to back up at {tmp_path / 'none.sqlite'}"
    # The spec's mutually_exclusive (an AnsibleModule option of the ModuleWork) refuses before the work runs.
    assert both_destinations["failed"] and "mutually exclusive" in both_destinations["msg"]
    # A read that changes nothing.
    assert (tls_state["changed"], tls_state["problems"]) == (False, {"tls": "missing"})
    # helm_values, which writes YAML, says PyYAML is missing rather than failing with a traceback.
    assert no_yaml["failed"]
    assert no_yaml["msg"] == f"this needs the Python package PyYAML, which {tmp_path}/bare/bin/python does not have"
    assert not (tmp_path / "build").exists()
