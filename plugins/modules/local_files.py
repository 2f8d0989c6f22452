# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Ensures the local target's directories, files and keys in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_files
short_description: Ensure the local DaskHub prefix's directories, files and keys in one call
description:
  - Creates the O(directories) with their modes, hands the O(owned) ones to
    O(owner), writes each of O(files) and O(secret_files) when its content,
    mode or owner differs (atomically, the new file getting its mode and
    owner before it replaces the old one), and creates each of O(generated)
    once, with random content, mode 0600. Removes each of O(absent) first.
  - One call for what a converge asks of every file, where a task per file
    cost a module start each (most of the time of a converge with nothing
    to do).
  - Reports which programs must restart to load what changed, from each
    entry's O(files[].restarts); the role passes them to the supervisor in one call.
  - The contents of O(secret_files) are never shown, in the result, the diff
    or the logs.
version_added: 0.2.0
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  directories:
    description: Directory -> its mode, an octal string such as C('0755').
    type: dict
    default: {}
  owner:
    description: Account that gets the O(owned) directories; empty leaves them alone.
    type: str
    default: ""
  owned:
    description: Directories that, with everything in them, belong to O(owner).
    type: list
    elements: str
    default: []
  files:
    description: Files and their content; shown in C(--diff).
    type: list
    elements: dict
    default: []
    suboptions:
      <<: &file_suboptions
        path:
          description: The file.
          type: path
          required: true
        content:
          description: Its whole content (of a secret file, never shown).
          type: str
          required: true
        owner:
          description: Account that owns it; empty leaves the owner alone.
          type: str
          default: ""
        restarts:
          description: Programs to restart when it changes.
          type: list
          elements: str
          default: []
      mode:
        description: Its mode, an octal string.
        type: str
        default: "0644"
  secret_files:
    description: Like O(files) (the same suboptions), for content that must never be shown.
    type: list
    elements: dict
    default: []
    suboptions:
      <<: *file_suboptions
      mode:
        description: Its mode, an octal string.
        type: str
        default: "0600"
  generated:
    description:
      - Keys only this host needs (the gateway's database encryption key),
        created once with O(generated[].size) random bytes and kept as they are, so data
        encrypted with them stays readable across runs and upgrades.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The key file.
        type: path
        required: true
      size:
        description: Number of random bytes.
        type: int
        default: 32
      encoding:
        description: C(base64) (URL-safe, what Fernet keys use) or C(hex).
        type: str
        choices: [base64, hex]
        default: base64
      owner:
        description: Account that owns it; empty leaves the owner alone.
        type: str
        default: ""
      restarts:
        description: Programs to restart when it is created.
        type: list
        elements: str
        default: []
  absent:
    description:
      - Paths to remove, before anything else is made (a directory with
        everything in it, a file, a link but never its target). A path that is
        not there is no change.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what would be created, written or removed.
  diff_mode:
    support: full
    description: Shows each changed file of O(files), a changed secret file only by name, and each removed path.
"""

EXAMPLES = r"""
- name: Write the hub's files
  daskhub.deploy.local_files:
    directories:
      /opt/daskhub/etc: "0755"
      /opt/daskhub/state: "0700"
    files:
      - path: /opt/daskhub/etc/jupyterhub_config.py
        content: "{{ hub_config }}"
        restarts: [jupyterhub]
    secret_files:
      - path: /opt/daskhub/etc/hub-secrets.json
        content: "{{ hub_secrets | to_nice_json }}"
        restarts: [jupyterhub]
    generated:
      - path: /opt/daskhub/state/dask_gateway_db.key
        restarts: [dask-gateway]
  register: files

- name: Remove the installed software
  daskhub.deploy.local_files:
    absent: [/opt/daskhub/venv, /opt/daskhub/etc]

- name: Restart what the files changed
  ansible.builtin.debug:
    msg: "{{ files.restarts }}"
"""

RETURN = r"""
changed_paths:
  description: Directories and files created, changed or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/opt/daskhub/etc/hub-settings.json, /opt/daskhub/etc/hub-secrets.json]
restarts:
  description: The programs to restart, from the O(files[].restarts) of what changed.
  returned: always
  type: list
  elements: str
  sample: [jupyterhub]
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host import files
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork


def _file_spec(mode: str, secret: bool) -> dict:
    return {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "path": {"type": "path", "required": True},
            "content": {"type": "str", "required": True, "no_log": secret},
            "mode": {"type": "str", "default": mode},
            "owner": {"type": "str", "default": ""},
            "restarts": {"type": "list", "elements": "str", "default": []},
        },
    }


ARGUMENT_SPEC = {
    "absent": {"type": "list", "elements": "path", "default": []},
    "directories": {"type": "dict", "default": {}},
    "owner": {"type": "str", "default": ""},
    "owned": {"type": "list", "elements": "str", "default": []},
    "files": _file_spec("0644", secret=False),
    # Their paths are no secret (they are reported); each content is no_log.
    "secret_files": {**_file_spec("0600", secret=True), "no_log": False},
    "generated": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "path": {"type": "path", "required": True},
            "size": {"type": "int", "default": 32},
            "encoding": {"type": "str", "default": "base64", "choices": ["base64", "hex"]},
            "owner": {"type": "str", "default": ""},
            "restarts": {"type": "list", "elements": "str", "default": []},
        },
    },
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, files.run, (files.FilesError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
