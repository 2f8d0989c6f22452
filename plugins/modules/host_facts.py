#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_facts
short_description: Gather the facts the local target reads about its host, cheaply
version_added: "0.1.0"
description:
  - Sets the facts the local target's roles read, under the names M(ansible.builtin.setup) gives them
    (C(ansible_facts.user_uid), C(user_dir), C(python.executable), C(fqdn), C(service_mgr), C(pkg_mgr),
    and the user's name, gid and shell, the Python version, the system and the architecture).
  - Where the play's host is the controller itself (connection C(local), no become, the play's own interpreter
    as C(ansible_python_interpreter)), the controller's process answers and no module starts, so a no-op
    converge saves the setup module's start. On any other host it runs M(ansible.builtin.setup) with the collectors
    these facts come from (user, python, platform, distribution, pkg_mgr, service_mgr).
  - C(service_mgr) is V(systemd) where systemd manages the host (C(/run/systemd/system) exists), else the
    name of PID 1; C(pkg_mgr) is the first of apt, dnf, yum, zypper, apk found.
  - This is an action plugin; it takes no options.
author:
  - DaskHub deployer maintainers (!UNKNOWN)
options: {}
attributes:
  check_mode:
    description: Only reads, in check mode as in a normal run.
    support: full
  action:
    description: An action plugin; on the controller itself no module starts.
    support: full
  facts:
    description: Returns C(ansible_facts), which update the host's facts.
    support: full
"""

EXAMPLES = r"""
- name: Learn the host of the local target and who runs the play
  daskhub.deploy.host_facts:
"""

RETURN = r"""
gathered_by:
  description: Who answered, V(daskhub.deploy.host_facts) (this process) or V(ansible.builtin.setup).
  returned: always
  type: str
  sample: daskhub.deploy.host_facts
ansible_facts:
  description: The facts, as M(ansible.builtin.setup) names them.
  returned: always
  type: dict
  sample:
    ansible_user_uid: 0
    ansible_user_dir: /root
    ansible_python: {executable: /opt/daskhub/.venv/bin/python}
    ansible_fqdn: hub.example.org
    ansible_service_mgr: systemd
    ansible_pkg_mgr: apt
"""
