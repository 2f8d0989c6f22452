"""daskhub.deploy.run_record through ansible-playbook: the record status.yml reads, check mode, a bad mode."""

from __future__ import annotations

import json
import stat
import time

import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import status
from support.playbooks import run_playbook


def _run(work):
    """One run: a record, a record in check mode, a bad mode, a mode given as a number."""
    record, checked = work / "state" / "new" / "last.json", work / "state" / "checked.json"
    numeric = work / "state" / "numeric.json"
    tasks = [
        {
            "name": "Record",
            "daskhub.deploy.run_record": {"path": str(record), "ok": True, "summary": "3 users before, 1 added"},
            "register": "written",
        },
        {
            "name": "Record in check mode",
            "daskhub.deploy.run_record": {"path": str(checked), "ok": False},
            "check_mode": True,
            "register": "checked",
        },
        {
            "name": "Record with a bad mode",
            "daskhub.deploy.run_record": {"path": str(checked), "ok": True, "mode": "rw-r--r--"},
            "register": "refused",
            "ignore_errors": True,
        },
        {
            # What YAML reads from an unquoted 0600: the number itself.
            "name": "Record with a mode as a number",
            "daskhub.deploy.run_record": {"path": str(numeric), "ok": True, "mode": 0o600},
        },
        {
            "name": "Keep the results",
            "ansible.builtin.copy": {
                "dest": str(work / "results.json"),
                "content": "{{ {'written': written, 'checked': checked, 'refused': refused} | to_json }}",
                "mode": "0600",
            },
        },
    ]
    playbook = work / "record.yml"
    play = {"name": "Records", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    playbook.write_text(yaml.safe_dump([play]))
    proc = run_playbook(str(playbook))
    assert proc.returncode == 0, proc.stdout[-3000:]
    results = json.loads((work / "results.json").read_text())
    return {"record_path": record, "checked_path": checked, "numeric_path": numeric, **results}


# One test for the one playbook run: ansible-test forks each test, so a
# module fixture would run it again for every test.
def test_the_record_status_reads_a_numeric_mode_check_mode_and_a_bad_mode(tmp_path):
    ran = _run(tmp_path)
    # The record is what status reads, world-readable in a private directory.
    record = ran["record_path"]
    assert stat.S_IMODE(record.stat().st_mode) == 0o644
    assert stat.S_IMODE(record.parent.stat().st_mode) == 0o700
    written = json.loads(record.read_text())
    assert written == ran["written"]["record"]
    assert set(written) == {"time", "ok", "summary"}
    # A log of the run: it leaves the run idempotent.
    assert ran["written"]["changed"] is False and ran["written"]["written"] is True
    last = status.last_run(str(record), limit=3600, now=time.time())
    assert last["found"] is True and last["ok"] is True and last["stale"] is False
    assert last["detail"] == "3 users before, 1 added"
    assert 0 <= last["age_seconds"] < 300
    # A mode given as a number is that number.
    assert stat.S_IMODE(ran["numeric_path"].stat().st_mode) == 0o600
    # Check mode writes nothing.
    assert ran["checked"]["written"] is False and ran["checked"]["changed"] is False
    assert not ran["checked"].get("failed")
    # A bad mode is named, and nothing is written.
    assert ran["refused"]["failed"] is True
    assert ran["refused"]["msg"].startswith("mode: "), ran["refused"]["msg"]
    assert not ran["checked_path"].exists()
