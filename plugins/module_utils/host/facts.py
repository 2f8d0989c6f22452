# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The facts the local target reads about its host, found by this process on its own host.

The local target's roles read six facts (roles/daskhub_local/vars/main.yml,
tasks/node.yml): who runs the play (user_uid, user_dir), the interpreter
(python.executable), the host name (fqdn), whether systemd is PID 1
(service_mgr) and whether apt installs packages (pkg_mgr). Where the play's
host is the controller itself (connection local, no become, the play's own
interpreter), the action plugin daskhub.deploy.host_facts answers them from
here, in microseconds, instead of starting ansible.builtin.setup (a third of
a no-op converge's module time); anywhere else it runs setup with
SETUP_SUBSET, the collectors these facts come from.
"""

from __future__ import annotations

import os
import platform
import pwd
import shutil
import socket
import sys

SETUP_SUBSET = ["!all", "!min", "user", "python", "platform", "distribution", "pkg_mgr", "service_mgr"]
# ansible.builtin.setup's names for the package managers it finds first.
PACKAGE_MANAGERS = (("apt-get", "apt"), ("dnf", "dnf"), ("yum", "yum"), ("zypper", "zypper"), ("apk", "apk"))


def service_manager(proc: str = "/proc", run: str = "/run") -> str:
    """ "systemd" where systemd manages the host (sd_booted(3): /run/systemd/system), else PID 1's name."""
    if os.path.isdir(os.path.join(run, "systemd", "system")):
        return "systemd"
    try:
        with open(os.path.join(proc, "1", "comm"), encoding="utf-8") as handle:
            return handle.read().strip() or "unknown"
    except OSError:
        return "unknown"


def package_manager() -> str:
    for command, name in PACKAGE_MANAGERS:
        if shutil.which(command):
            return name
    return "unknown"


def this_host_facts(python: str) -> dict:
    """The facts, named as ansible.builtin.setup returns them, of this host and this process's user."""
    entry = pwd.getpwuid(os.getuid())
    return {
        "ansible_user_id": entry.pw_name,
        "ansible_user_uid": entry.pw_uid,
        "ansible_user_gid": entry.pw_gid,
        "ansible_user_dir": entry.pw_dir,
        "ansible_user_shell": entry.pw_shell,
        "ansible_python": {
            "executable": python,
            "version": {
                "major": sys.version_info.major,
                "minor": sys.version_info.minor,
                "micro": sys.version_info.micro,
            },
        },
        "ansible_python_version": platform.python_version(),
        "ansible_fqdn": socket.getfqdn(),
        "ansible_hostname": socket.gethostname().split(".")[0],
        "ansible_system": platform.system(),
        "ansible_architecture": platform.machine(),
        "ansible_service_mgr": service_manager(),
        "ansible_pkg_mgr": package_manager(),
    }
