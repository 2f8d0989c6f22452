# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
# Documentation of the daskhub.deploy.secrets action plugin (plugins/action/secrets.py).
# The action runs on the controller; this file only gives ansible-doc and
# ansible-lint something to read, as for ansible.builtin.set_fact.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secrets
short_description: Ensure named secrets exist in the per-site secrets store
version_added: "0.1.0"
description:
  - Makes sure that every secret in O(names) has a value in a YAML secrets store on the controller,
    generates the missing ones, and sets them as one host variable (O(fact_name)) for the rest of the play.
  - A new secret is 32 random bytes from Python's C(secrets) module as 64 hex characters, like C(openssl rand -hex 32).
  - Secrets are kept between runs; a second run with the same names reports no change.
    Names already in the store that are not asked for are kept, never deleted.
  - The store is written with mode C(0600) (a directory it creates gets C(0700)), under an exclusive lock on a
    sibling C(.lock) file, through a temporary file and an atomic rename, so that concurrent runs do not lose a secret.
  - A corrupt or unreadable store fails the task with a message naming the file, and the file is left as it was.
  - The store may be encrypted with Ansible Vault. An encrypted store is decrypted with the play's vault secrets
    (C(--vault-password-file), C(--vault-id), C(--ask-vault-pass)) and written back encrypted.
  - No value is ever put in the task result outside RV(ansible_facts.daskhub_secrets), nor in an error message or
    diff, and the default callbacks do not print the result even at C(-vvv). Still set C(no_log) on the task, as the
    role C(daskhub.deploy.daskhub_secrets) does, so that no callback can print the facts.
options:
  path:
    description:
      - Path of the secrets store on the controller. A relative path is relative to the playbook's directory.
      - Missing parent directories are created with mode C(0700).
    type: path
    required: true
  names:
    description:
      - Names of the secrets to ensure. Each may contain letters, digits, C(.), C(_) and C(-),
        the characters Kubernetes allows in Secret keys.
    type: list
    elements: str
    required: true
  rotate:
    description:
      - Names whose secrets get a new value on this run. Each must also be in O(names).
      - A name whose value comes from O(provided) cannot be rotated here; change it where it is provided.
    type: list
    elements: str
    default: []
  provided:
    description:
      - Values given by the operator, for example an OAuth client secret kept in Ansible Vault.
      - They are returned as given and never written to the store. An empty value is ignored, and the
        secret is then generated and stored like any other. Names not in O(names) are ignored.
    type: dict
    default: {}
  authoritative:
    description:
      - Values read from the running site (for example the in-cluster Kubernetes Secret) that win over the store.
      - When one differs from the stored value, or is not stored yet, the store is updated
        and the task reports a change. Empty values and names not in O(names) are ignored. O(rotate) wins over this.
    type: dict
    default: {}
  vault_encrypt:
    description:
      - Encrypt the store with Ansible Vault. A plain store is encrypted on this run.
      - An already encrypted store is always written back encrypted, whatever this says.
    type: bool
    default: false
  vault_id:
    description:
      - Vault id whose secret encrypts the store. It must be one of the play's vault ids.
      - By default an encrypted store is re-encrypted with the secret that decrypted it,
        and a plain store is encrypted with the first vault secret given.
    type: str
  fact_name:
    description:
      - Name of the variable that receives the mapping of secret name to value.
    type: str
    default: daskhub_secrets
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details:
      - Nothing is written. Missing and rotated secrets get throw-away values so that later tasks can render.
  connection:
    support: none
  delegation:
    support: none
    details: The store is always on the controller.
  diff_mode:
    support: full
    details: The diff lists secret names, marked C(<created>), C(<rotated>) or C(<from the cluster>); never values.
  platform:
    platforms: all
notes:
  - The variable O(fact_name) is set like M(ansible.builtin.set_fact) sets one, so it is never written to a
    persistent fact cache. Use it as C(daskhub_secrets), not as C(ansible_facts.daskhub_secrets).
  - Running the task for several hosts at once is safe; they all get the same values.
seealso:
  - module: ansible.builtin.set_fact
author:
  - DaskHub deployer maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Ensure the hub and gateway secrets
  daskhub.deploy.secrets:
    path: "{{ inventory_dir }}/state/secrets.yml"
    names:
      - proxy_secret_token
      - dask_gateway_api_token
      - cookie_secret
  no_log: true

- name: Rotate the proxy token, keep the store vault-encrypted
  daskhub.deploy.secrets:
    path: "{{ inventory_dir }}/state/secrets.yml"
    names: [proxy_secret_token, dask_gateway_api_token, cookie_secret]
    rotate: [proxy_secret_token]
    vault_encrypt: true
  no_log: true

- name: Use an operator-provided OAuth client secret, generate the rest
  daskhub.deploy.secrets:
    path: "{{ inventory_dir }}/state/secrets.yml"
    names: [proxy_secret_token, oauth_client_secret]
    provided:
      oauth_client_secret: "{{ vault_oauth_client_secret }}"
    fact_name: site_secrets
  no_log: true
"""

RETURN = r"""
ansible_facts:
  description: The secrets, as one variable named after O(fact_name).
  returned: success
  type: dict
  contains:
    daskhub_secrets:
      description: Mapping of each name in O(names) to its value (the key is O(fact_name)).
      returned: success
      type: dict
      sample: {"proxy_secret_token": "<64 hex characters>"}
created:
  description: Names that were generated on this run (in check mode, would be).
  returned: success
  type: list
  elements: str
  sample: [cookie_secret]
rotated:
  description: Names that got a new value because they were in O(rotate).
  returned: success
  type: list
  elements: str
  sample: [proxy_secret_token]
synced:
  description: Names whose stored value was replaced by the O(authoritative) one.
  returned: success
  type: list
  elements: str
  sample: []
file_changes:
  description: Changes to the store file itself, such as its encryption or its mode being corrected to C(0600).
  returned: success
  type: list
  elements: str
  sample: ["encrypt with Ansible Vault"]
path:
  description: Absolute path of the store.
  returned: always
  type: str
  sample: /srv/daskhub/inventories/site/state/secrets.yml
"""
