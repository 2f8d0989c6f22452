"""ModuleWork.run_as_module, the one way a module runs: real modules run by Ansible on localhost.

local_files on a temporary folder: its result, check mode, a failure with
the module's message (FilesError); jupyterhub_user_source: a failure of
the work's own kind (SourceError) and an argument refused by the spec
(its ``required_if``) before the work runs; site_backup_check: a failure
that lists every reason; site_backup: a failure recorded, a missing backup named; helm_values on a
Python without PyYAML: the missing library named.
"""

from __future__ import annotations

import subprocess
import sys

from support import kubernetes_site
from support.playbooks import run_module as run_on_localhost


def run_module(module: str, args: dict, *extra: str) -> tuple[int, dict, str]:
    """The module in a process of its own (on the controller, its work would run in Ansible's worker)."""
    return run_on_localhost(module, args, *extra, module_process=True)


def test_the_work_s_result_is_the_module_s_and_check_mode_reaches_it(tmp_path):
    target = tmp_path / "etc" / "settings.json"
    args = {"directories": {str(tmp_path / "etc"): "0755"}, "files": [{"path": str(target), "content": "{}\n"}]}
    rc, result, _ = run_module("local_files", args, "--check")
    assert (rc, result["changed"], target.exists()) == (0, True, False)
    rc, result, _ = run_module("local_files", args)
    assert (rc, result["changed"], target.read_text()) == (0, True, "{}\n")


def test_a_failure_of_the_work_is_the_module_s_message(tmp_path):
    args = {"files": [{"path": str(tmp_path / "f"), "content": "x", "owner": "no-such-account-here"}]}
    rc, result, _ = run_module("local_files", args)
    assert rc != 0
    assert result["msg"] == "owner 'no-such-account-here' is not an account on this host"
    rc, result, _ = run_module("jupyterhub_user_source", {"sources": [{"type": "file", "path": str(tmp_path / "no")}]})
    assert rc != 0 and str(tmp_path / "no") in result["msg"]


def test_a_check_that_fails_names_every_reason(tmp_path):
    args = {"path": str(tmp_path / "none"), "site": "s", "target": "local", "versions": {}, "hub_upgrades_db": False}
    rc, result, _ = run_module("site_backup_check", args)
    assert rc != 0 and result["msg"].startswith("Cannot restore, nothing was changed:\n- ")


def test_a_failed_backup_is_recorded_and_a_missing_one_named(tmp_path):
    status_file = tmp_path / "last-backup.json"
    args = {"path": str(tmp_path / "b1"), "site": "s", "target": "local", "status_file": str(status_file)}
    rc, result, _ = run_module("site_backup", {**args, "state": "failed", "error": "disk full"})
    assert (rc, result["status"]["ok"], result["status"]["error"]) == (0, False, "disk full")
    assert '"ok": false' in status_file.read_text()
    rc, result, _ = run_module("site_backup", args)
    assert rc != 0 and result["msg"] == f"no backup folder at {tmp_path / 'b1'}"


def test_the_spec_refuses_before_the_work_runs():
    rc, result, _ = run_module("jupyterhub_user_source", {"sources": [{"type": "http"}]})
    assert rc != 0 and "url" in result["msg"]


def test_a_library_missing_on_the_module_s_host_is_named(tmp_path):
    # A Python without PyYAML (a bare venv of the interpreter .venv was made from):
    # helm_values, which writes YAML, fails saying so rather than with a traceback.
    base = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    bare = tmp_path / "bare"
    subprocess.run([f"{base}/bin/python3", "-m", "venv", "--without-pip", str(bare)], check=True, timeout=60)
    model = kubernetes_site.model()
    args = {
        "model": model,
        "secrets": kubernetes_site.secrets(model),
        "dest": str(tmp_path / "build"),
        "chart_data_dir": str(kubernetes_site.CHART_DATA),
        "files_dir": str(kubernetes_site.REPO / "plugins" / "files"),
    }
    rc, result, _ = run_module("helm_values", args, "-e", f"ansible_python_interpreter={bare}/bin/python")
    assert rc != 0
    assert result["msg"] == f"this needs the Python package PyYAML, which {bare}/bin/python does not have"
    assert not (tmp_path / "build").exists()
