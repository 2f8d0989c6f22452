#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Reads the local target's certificate files in one call: which of them a converge has to make again."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: local_tls_state
short_description: Read which of the local DaskHub site's certificate files have to be made again
version_added: 0.2.0
description:
  - Checks, in one call and without changing anything, the files the certificate tasks of the local target
    make (the role's C(tasks/certificate.yml) and C(tasks/acme.yml)) and names each one that is missing or
    differs from what its task would make. The role runs a file's task only when this module names it, where
    a task per file cost a module start each (most of the time of an HTTPS site's converge with nothing to do).
  - Each check is at least as strict as its task, so that a file the task would change is never passed over.
  - The contents of O(secret_files) are never shown.
author: DaskHub deployer maintainers (!UNKNOWN)
requirements:
  - cryptography (as the certificate tasks, community.crypto's modules, need)
options:
  directories:
    description: Directories that must exist with their mode and owner.
    type: list
    elements: dict
    default: []
    suboptions:
      name: &name
        description: The name the result's RV(problems) gives it.
        type: str
        required: true
      path: &path
        description: The path.
        type: path
        required: true
      mode: &mode
        description: Its mode, an octal string such as C('0755').
        type: str
        required: true
      owner: &owner
        description: The account that owns it; empty, any.
        type: str
        default: ""
  files:
    description: Files that must hold exactly their O(files[].content).
    type: list
    elements: dict
    default: []
    suboptions: &file_suboptions
      name: *name
      path: *path
      mode: *mode
      owner: *owner
      content:
        description: The file's whole content.
        type: str
        required: true
  secret_files:
    description: As O(files) (the same suboptions), for contents never to be shown (a key the operator provides).
    type: list
    elements: dict
    default: []
    suboptions: *file_suboptions
  private_keys:
    description: PEM private keys that must be unencrypted EC keys on the curve secp256r1, with their mode and owner.
    type: list
    elements: dict
    default: []
    suboptions:
      name: *name
      path: *path
      mode: *mode
      owner: *owner
  request:
    description: A certificate request that must be signed by one of O(private_keys), name no subject and
      carry one non-critical subjectAltName extension with exactly O(request.names).
    type: dict
    suboptions:
      name: *name
      path: *path
      mode: *mode
      owner: *owner
      signed_by:
        description: The O(private_keys[].name) of the key that signs it.
        type: str
        required: true
      names:
        description: Its subjectAltName entries, C(DNS:<name>) or C(IP:<address>), in any order.
        type: list
        elements: str
        required: true
  certificate:
    description: A certificate (or a chain, leaf first) to read the days it has left.
    type: dict
    suboptions:
      path: *path
      renew_days:
        description: It is due when it has fewer days left than this (the ACME order's C(remaining_days)).
        type: int
        required: true
attributes:
  check_mode:
    description: Reads only, in check mode as in a normal run.
    support: full
  diff_mode:
    description: Reads only; no diff.
    support: none
"""

EXAMPLES = r"""
- name: Read what of the certificate's files a converge would make again
  daskhub.deploy.local_tls_state:
    directories:
      - {name: tls_dir, path: /opt/daskhub/etc/tls, mode: "0700"}
    private_keys:
      - {name: key, path: /opt/daskhub/etc/tls/key.pem, mode: "0600"}
    request:
      name: csr
      path: /opt/daskhub/etc/tls/request.csr
      mode: "0644"
      signed_by: key
      names: ["DNS:hub.example.org"]
    certificate: {path: /opt/daskhub/etc/tls/fullchain.pem, renew_days: 30}
  register: tls_state

- name: Make the key again only when it is missing or differs
  community.crypto.openssl_privatekey:
    path: /opt/daskhub/etc/tls/key.pem
    type: ECC
    curve: secp256r1
    mode: "0600"
  when: tls_state.problems.key is defined
"""

RETURN = r"""
problems:
  description: The name of each entry its task has to make again, and why; an entry that is as it should be is absent.
  returned: always
  type: dict
  sample: {"csr": "names DNS:old.example.org, not DNS:hub.example.org"}
certificate:
  description: The certificate of O(certificate), when given.
  returned: when O(certificate) is given
  type: dict
  contains:
    exists:
      description: Whether the file exists.
      type: bool
    days_left:
      description: Days until its leaf expires; null when there is none to read.
      type: float
    due:
      description: Whether it has fewer than O(certificate.renew_days) days left, or none can be read.
      type: bool
  sample: {"exists": true, "days_left": 89.5, "due": false}
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host import files as host_files
from ansible_collections.daskhub.deploy.plugins.module_utils.host import tls_files
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

_ENTRY = {
    "name": {"type": "str", "required": True},
    "path": {"type": "path", "required": True},
    "mode": {"type": "str", "required": True},
    "owner": {"type": "str", "default": ""},
}
ARGUMENT_SPEC = {
    "directories": {"type": "list", "elements": "dict", "default": [], "options": _ENTRY},
    "files": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {**_ENTRY, "content": {"type": "str", "required": True}},
    },
    "secret_files": {
        # Their paths and modes are not secret; each one's content is.
        "no_log": False,
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {**_ENTRY, "content": {"type": "str", "required": True, "no_log": True}},
    },
    # Where the keys are; this module reads them and never returns them.
    "private_keys": {"type": "list", "elements": "dict", "default": [], "options": _ENTRY, "no_log": False},
    "request": {
        "type": "dict",
        "options": {
            **_ENTRY,
            "signed_by": {"type": "str", "required": True},
            "names": {"type": "list", "elements": "str", "required": True},
        },
    },
    "certificate": {
        "type": "dict",
        "options": {"path": {"type": "path", "required": True}, "renew_days": {"type": "int", "required": True}},
    },
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, tls_files.read_state, (OSError, host_files.FilesError))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
