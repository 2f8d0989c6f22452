"""module_utils/host/files.py (the work of modules/local_files.py) on a real file system.

The module is what a converge with nothing to do spends its time on, so the
tests check both halves: a first pass creates and reports, a second pass over
the same entries changes and reports nothing; and a secret never reaches the
diff.
"""

from __future__ import annotations

import json
import os
import pwd
import stat

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import files as host_files
from ansible_collections.daskhub.deploy.plugins.module_utils.host import probes as host_probes

SECRET = "0f" * 32


def _params(tmp_path, **overrides):
    params = {
        "absent": [],
        "directories": {str(tmp_path / "etc"): "0755", str(tmp_path / "state"): "0700"},
        "owner": "",
        "owned": [],
        "files": [
            {
                "path": str(tmp_path / "etc/settings.json"),
                "content": '{"a": 1}\n',
                "mode": "0644",
                "owner": "",
                "restarts": ["jupyterhub"],
            },
            {"path": str(tmp_path / "etc/guard.py"), "content": "x = 1\n", "mode": "0644", "owner": "", "restarts": []},
        ],
        "secret_files": [
            {
                "path": str(tmp_path / "etc/secrets.json"),
                "content": f'{{"token": "{SECRET}"}}\n',
                "mode": "0600",
                "owner": "",
                "restarts": ["dask-gateway"],
            }
        ],
        "generated": [
            {"path": str(tmp_path / "state/db.key"), "size": 32, "encoding": "hex", "owner": "", "restarts": []}
        ],
    }
    params.update(overrides)
    return params


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_first_pass_creates_everything_and_a_second_changes_nothing(tmp_path):
    params = _params(tmp_path)
    first = host_files.ensure(params, check=False, want_diff=True)
    assert first["changed"]
    assert first["restarts"] == ["dask-gateway", "jupyterhub"]
    assert set(first["changed_paths"]) == {
        str(tmp_path / "etc"),
        str(tmp_path / "state"),
        str(tmp_path / "etc/settings.json"),
        str(tmp_path / "etc/guard.py"),
        str(tmp_path / "etc/secrets.json"),
        str(tmp_path / "state/db.key"),
    }
    assert (tmp_path / "etc/settings.json").read_text() == '{"a": 1}\n'
    assert _mode(tmp_path / "state") == 0o700
    assert _mode(tmp_path / "etc/secrets.json") == 0o600
    assert _mode(tmp_path / "state/db.key") == 0o600
    assert len((tmp_path / "state/db.key").read_text().strip()) == 64

    second = host_files.ensure(params, check=False, want_diff=True)
    assert second == {"changed": False, "changed_paths": [], "restarts": []}


def test_only_what_changed_is_written_and_only_its_programs_restart(tmp_path):
    params = _params(tmp_path)
    host_files.ensure(params, check=False, want_diff=False)
    key = (tmp_path / "state/db.key").read_text()
    params["files"][0]["content"] = '{"a": 2}\n'
    result = host_files.ensure(params, check=False, want_diff=True)
    assert result["changed_paths"] == [str(tmp_path / "etc/settings.json")]
    assert result["restarts"] == ["jupyterhub"]
    assert result["diff"] == [
        {
            "before_header": str(tmp_path / "etc/settings.json"),
            "after_header": str(tmp_path / "etc/settings.json"),
            "before": '{"a": 1}\n',
            "after": '{"a": 2}\n',
        }
    ]
    # A generated key is kept as it is: data encrypted with it stays readable.
    assert (tmp_path / "state/db.key").read_text() == key


def test_a_changed_secret_is_named_in_the_diff_never_shown(tmp_path):
    params = _params(tmp_path)
    host_files.ensure(params, check=False, want_diff=False)
    params["secret_files"][0]["content"] = '{"token": "' + "ab" * 32 + '"}\n'
    result = host_files.ensure(params, check=False, want_diff=True)
    assert result["restarts"] == ["dask-gateway"]
    text = repr(result)
    assert SECRET not in text and "ab" * 32 not in text
    assert result["diff"][0]["after_header"] == str(tmp_path / "etc/secrets.json")


def test_check_mode_reports_the_changes_and_makes_none(tmp_path):
    params = _params(tmp_path)
    result = host_files.ensure(params, check=True, want_diff=True)
    assert result["changed"] and len(result["changed_paths"]) == 6
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_mode_is_corrected_without_rewriting(tmp_path):
    params = _params(tmp_path)
    host_files.ensure(params, check=False, want_diff=False)
    path = tmp_path / "etc/secrets.json"
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    result = host_files.ensure(params, check=False, want_diff=True)
    assert result["changed_paths"] == [str(path)]
    assert "diff" not in result  # the content is the same: nothing to show
    assert _mode(path) == 0o600 and os.stat(path).st_ino == inode


def test_a_file_in_place_of_a_directory_is_an_error_naming_it(tmp_path):
    (tmp_path / "etc").write_text("not a directory")
    with pytest.raises(host_files.FilesError, match="exists and is not a directory"):
        host_files.ensure(_params(tmp_path), check=False, want_diff=False)


def test_absent_paths_go_first_links_without_their_targets_and_check_mode_only_reports(tmp_path):
    host_files.ensure(_params(tmp_path), check=False, want_diff=False)
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "data").write_text("stays")
    (tmp_path / "etc/link").symlink_to(kept)
    gone = [str(tmp_path / "etc"), str(tmp_path / "state/db.key"), str(tmp_path / "never-there")]
    params = _params(tmp_path, absent=gone, directories={}, files=[], secret_files=[], generated=[])

    checked = host_files.ensure(params, check=True, want_diff=True)
    assert checked["changed_paths"] == gone[:2]
    assert [(d["before"], d["after"]) for d in checked["diff"]] == [("directory\n", "absent\n"), ("file\n", "absent\n")]
    assert (tmp_path / "etc/settings.json").exists() and (tmp_path / "state/db.key").exists()

    assert host_files.ensure(params, check=False, want_diff=False)["changed_paths"] == gone[:2]
    assert not (tmp_path / "etc").exists() and not (tmp_path / "state/db.key").exists()
    assert (kept / "data").read_text() == "stays"  # the link went, not what it pointed to
    assert not host_files.ensure(params, check=False, want_diff=False)["changed"]

    # Removed, then made again in the same call.
    params = _params(tmp_path, absent=[str(tmp_path / "state")])
    (tmp_path / "state/old").mkdir()
    host_files.ensure(params, check=False, want_diff=False)
    assert sorted(os.listdir(tmp_path / "state")) == ["db.key"]


def test_an_absent_path_that_cannot_be_read_is_an_error_naming_it(tmp_path):
    (tmp_path / "plain").write_text("a file, not a directory")
    below = tmp_path / "plain/below"
    with pytest.raises(host_files.FilesError, match=f"cannot read {below}: Not a directory"):
        host_files.ensure(_params(tmp_path, absent=[str(below)]), check=False, want_diff=False)


def test_an_unknown_owner_is_an_error_except_in_check_mode(tmp_path):
    params = _params(tmp_path, owner="no-such-account-here", owned=[str(tmp_path / "state")])
    with pytest.raises(host_files.FilesError, match="no-such-account-here"):
        host_files.ensure(params, check=False, want_diff=False)
    assert host_files.ensure(params, check=True, want_diff=False)["changed"]


@pytest.mark.skipif(os.geteuid() != 0, reason="handing a tree to another account needs root")
def test_owned_directories_are_handed_over_with_their_contents(tmp_path):
    nobody = pwd.getpwnam("nobody")
    (tmp_path / "state").mkdir(mode=0o700)
    (tmp_path / "state/jupyterhub.sqlite").write_text("left by an earlier install as root")
    params = _params(tmp_path, owner="nobody", owned=[str(tmp_path / "state")])
    host_files.ensure(params, check=False, want_diff=False)
    assert os.stat(tmp_path / "state").st_uid == nobody.pw_uid
    assert os.stat(tmp_path / "state/jupyterhub.sqlite").st_uid == nobody.pw_uid
    assert host_files.ensure(params, check=False, want_diff=False)["changed"] is False


def test_the_probes_read_npm_versions_and_modification_times(tmp_path):
    package = tmp_path / "package.json"
    assert host_probes.npm_package_version(str(package)) is None
    assert host_probes.mtime(str(package)) is None
    package.write_text('{"name": "configurable-http-proxy", "version": "4.6.3"}')
    assert host_probes.npm_package_version(str(package)) == "4.6.3"
    assert host_probes.mtime(str(package)) == os.stat(package).st_mtime
    package.write_text("{not json")
    assert host_probes.npm_package_version(str(package)) is None


def test_the_cron_probe_finds_a_daemon_by_its_name():
    processes = [{"pid": 10, "exe": "", "argv": ["/usr/sbin/cron", "-f"]}, {"pid": 11, "exe": "/bin/sh", "argv": []}]
    assert host_probes.cron_probe(processes)["running"] is True
    assert host_probes.cron_probe(processes[1:])["running"] is False
    probe = host_probes.cron_probe([])
    assert probe["daemon"] == any(os.path.exists(path) for path in host_probes.CRON_DAEMONS)
    assert probe["crontab"] == os.path.exists(host_probes.CRONTAB)


def test_the_npm_lock_probe_wants_the_lock_npm_ci_completed(tmp_path):
    """npm ci writes node_modules/.package-lock.json last: the lock's packages, by version and hash."""
    locked = {
        "node_modules/configurable-http-proxy": {"version": "5.3.0", "integrity": "sha512-a"},
        "node_modules/commander": {"version": "15.0.0", "integrity": "sha512-b"},
    }
    lock = {"name": "site", "lockfileVersion": 3, "packages": {"": {"name": "site"}, **locked}}
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    assert host_probes.npm_lock_installed(str(tmp_path)) is False  # never installed
    (tmp_path / "node_modules").mkdir()
    hidden = tmp_path / "node_modules" / ".package-lock.json"
    # As npm writes it where its configuration keeps the registry's addresses.
    resolved = {path: {**entry, "resolved": f"https://registry.example/{path}.tgz"} for path, entry in locked.items()}
    hidden.write_text(json.dumps({"name": "site", "lockfileVersion": 3, "packages": resolved}))
    assert host_probes.npm_lock_installed(str(tmp_path)) is True
    # Another version of one dependency: the lock changed since, or the install did not complete.
    resolved["node_modules/commander"]["version"] = "14.0.0"
    hidden.write_text(json.dumps({"packages": resolved}))
    assert host_probes.npm_lock_installed(str(tmp_path)) is False
    hidden.write_text("{not json")
    assert host_probes.npm_lock_installed(str(tmp_path)) is False
