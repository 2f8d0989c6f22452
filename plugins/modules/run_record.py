#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause

from __future__ import annotations

DOCUMENTATION = r"""
---
module: run_record
short_description: Record a scheduled job's last run for the site's status
version_added: "0.2.0"
description:
  - Writes the record of a job's last run to O(path) on the controller, replacing it atomically
    (a reader sees the old or the new record, never a part). The record is JSON with C(time) (UTC, ISO 8601),
    C(ok) and C(summary); C(playbooks/status.yml) reads it, says how old it is and whether it is stale.
  - The summary is for counts and outcomes; it must not hold a user name or a secret, since the record is
    world-readable by default, for a monitoring check.
  - Reports C(changed=false), since the record is a log of the run, not the site's state; a run that changes
    nothing else stays idempotent.
  - This is an action plugin; it always runs on the controller, where the site's state directory is.
author:
  - DaskHub deployer maintainers (!UNKNOWN)
options:
  path:
    description:
      - The record's file. Its directory is created (mode C(0700)) when missing.
    type: path
    required: true
  ok:
    description:
      - Whether the run succeeded.
    type: bool
    required: true
  summary:
    description:
      - One line on what the run did, or why it failed.
    type: str
    default: ""
  mode:
    description:
      - The record's permissions, in octal as a string (V('0644')); an integer is taken as the number it is,
        as a YAML C(0644) without quotes reads.
    type: raw
    default: "0644"
attributes:
  check_mode:
    description: Writes nothing in check mode.
    support: full
  diff_mode:
    description: Shows no diff; the record is a log of the run.
    support: none
  action:
    description: An action plugin; it runs on the controller.
    support: full
"""

EXAMPLES = r"""
- name: Record the user sync's time and result
  daskhub.deploy.run_record:
    path: "{{ daskhub_state_dir }}/user-sync-last.json"
    ok: true
    summary: 12 users before, 1 added, 0 removed
"""

RETURN = r"""
path:
  description: The absolute path of the record.
  returned: always
  type: str
  sample: /srv/daskhub/inventories/site/state/user-sync-last.json
written:
  description: Whether the record was written (not in check mode).
  returned: always
  type: bool
  sample: true
record:
  description: What was written.
  returned: when written
  type: dict
  sample: {"ok": true, "summary": "12 users before, 1 added, 0 removed", "time": "2026-03-01T12:00:00Z"}
"""
