#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_lock
short_description: Hold an exclusive lock for the rest of a playbook run
version_added: "0.1.0"
description:
  - Takes an exclusive C(flock) on O(path) on the controller and keeps it until the C(ansible-playbook) run
    that took it ends, or until a task with O(state=released). A second run waits up to O(timeout) seconds
    for the lock, then fails with a message naming the holder.
  - The lock is held by a small helper process that exits with the run, and the kernel releases a flock
    when its holder dies, so a crashed or killed run never leaves a stale lock.
  - The lock file stays empty; the holder's pid, host, label and start time go to C(<path>.owner.txt)
    (C(.txt), so that Ansible does not read it as inventory when it lies in the inventory's directory).
  - This is an action plugin; it always runs on the controller, whatever the host.
author:
  - DaskHub deployer maintainers (!UNKNOWN)
options:
  path:
    description:
      - The lock file. Its directory is created when missing.
    type: path
    required: true
  state:
    description:
      - V(acquired) takes the lock, waiting up to O(timeout); V(released) gives back a lock this run holds.
    type: str
    choices: [acquired, released]
    default: acquired
  timeout:
    description:
      - Seconds to wait for another run to release the lock.
    type: float
    default: 600
  label:
    description:
      - A description of the holder, shown to a run that waits in vain.
    type: str
    default: ansible-playbook
attributes:
  check_mode:
    description: Takes and releases the lock in check mode as in a normal run.
    support: full
  action:
    description: An action plugin; it runs on the controller.
    support: full
"""

EXAMPLES = r"""
- name: Hold the user-sync lock for the rest of the run
  daskhub.deploy.run_lock:
    path: "{{ inventory_dir }}/state/user-sync.lock"
    timeout: 300
    label: user-sync
"""

RETURN = r"""
path:
  description: The absolute path of the lock file.
  returned: always
  type: str
  sample: /srv/daskhub/inventories/site/state/site.lock
holder_pid:
  description: The process that holds the lock for this run.
  returned: when acquired
  type: int
  sample: 31337
waited:
  description: Seconds spent waiting for the lock.
  returned: when acquired
  type: float
  sample: 0.02
held_already:
  description: This run held the lock already (an earlier play of it took it), so nothing was taken.
  returned: when this run held the lock already
  type: bool
  sample: true
released:
  description: Whether a lock held by this run was released.
  returned: when released
  type: bool
  sample: true
"""
