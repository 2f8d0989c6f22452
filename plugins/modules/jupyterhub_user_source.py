#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause

from __future__ import annotations

DOCUMENTATION = r"""
---
module: jupyterhub_user_source
short_description: Read the desired JupyterHub users and admins from lists, files, HTTP JSON or LDAP
version_added: "0.1.0"
description:
  - Reads every source in O(sources) and returns the union of their users and of their admins, for
    M(daskhub.deploy.jupyterhub_users).
  - Source types are V(list) (inventory lists), V(file) (YAML or CSV), V(http) (an HTTP(S) JSON endpoint such
    as an IAM group export, with jmespath expressions) and V(ldap) (a group or a search, with ldap3).
  - Fails closed. If any source cannot be read, or an external source returns nobody (unless that source
    sets O(sources[].allow_empty)), the module fails and returns no users, so a following sync deletes
    nothing.
  - Reads only; never changes anything.
author:
  - DaskHub deployer maintainers (!UNKNOWN)
extends_documentation_fragment:
  - daskhub.deploy.attributes.check_mode_only
requirements:
  - jmespath (for O(sources[].users_query) and O(sources[].admins_query))
  - ldap3 (for V(ldap) sources)
options:
  sources:
    description: The sources, read in order and merged.
    type: list
    elements: dict
    required: true
    suboptions:
      type:
        description:
          - V(list) takes O(sources[].users) and O(sources[].admins) as given.
          - V(file) reads O(sources[].path). YAML is a list of names, a list of C({name, admin}) or a mapping
            with C(users) and C(admins) lists. CSV has a header with a C(username) (or C(name)) column and
            an optional C(admin) column (true/yes/1), or no header and the name in the first column.
          - V(http) GETs O(sources[].url) and applies the jmespath O(sources[].users_query) and
            O(sources[].admins_query).
          - V(ldap) reads the members of O(sources[].group_dn) (and O(sources[].admin_group_dn)), or the
            entries found under O(sources[].search_base) with O(sources[].search_filter).
        type: str
        required: true
        choices: [list, file, http, ldap]
      name:
        description: A label for messages and the per-source summary; defaults to the type.
        type: str
      allow_empty:
        description: Accept zero users from this source. Defaults to true for V(list), false for the others.
        type: bool
      users:
        description: V(list) only. The users.
        type: list
        elements: str
      admins:
        description: V(list) only. The admins (they are users too).
        type: list
        elements: str
      path:
        description: V(file) only. The YAML or CSV file on the host running the module.
        type: path
      format:
        description: V(file) only. V(auto) picks CSV for a C(.csv) name, YAML otherwise.
        type: str
        choices: [auto, yaml, csv]
        default: auto
      url:
        description: V(http) only. The JSON endpoint.
        type: str
      headers:
        description: V(http) only. Extra request headers.
        type: dict
      bearer_token:
        description: V(http) only. Sent as C(Authorization Bearer).
        type: str
      users_query:
        description:
          - V(http) only. A jmespath expression giving the list of usernames (or of objects with C(name) and
            C(admin)). Without it the whole answer is read like a YAML file.
        type: str
      admins_query:
        description:
          - V(http) only. A jmespath expression giving the list of admin usernames, for example
            C(members[?role=='admin'].username).
        type: str
      server:
        description: V(ldap) only. The server URL, V(ldap://host:389) or V(ldaps://host:636).
        type: str
      bind_dn:
        description: V(ldap) only. The DN to bind as; anonymous when empty.
        type: str
      bind_password:
        description: V(ldap) only. The bind password.
        type: str
      start_tls:
        description: V(ldap) only. Upgrade an V(ldap://) connection with StartTLS.
        type: bool
        default: false
      group_dn:
        description: V(ldap) only. The group whose members are the users.
        type: str
      admin_group_dn:
        description: V(ldap) only. The group whose members are the admins.
        type: str
      member_attribute:
        description: V(ldap) only. The group's member attribute (V(member), V(uniqueMember) or V(memberUid)).
        type: str
        default: member
      username_attribute:
        description: V(ldap) only. The attribute holding the username.
        type: str
        default: uid
      search_base:
        description:
          - V(ldap) only. Instead of a group, take every entry below this base matching O(sources[].search_filter).
        type: str
      search_filter:
        description: V(ldap) only. The filter for O(sources[].search_base).
        type: str
        default: (objectClass=person)
      validate_certs:
        description: V(http) and V(ldap). Verify TLS certificates.
        type: bool
        default: true
      ca_path:
        description: V(http) and V(ldap). A CA bundle to verify with.
        type: path
      timeout:
        description: Seconds to wait for the source.
        type: float
        default: 30
"""

EXAMPLES = r"""
- name: Desired users from the inventory, a CSV export and an LDAP group
  daskhub.deploy.jupyterhub_user_source:
    sources:
      - type: list
        name: inventory
        users: "{{ daskhub_users }}"
        admins: "{{ daskhub_admin_users }}"
      - type: file
        path: /etc/daskhub/extra-users.csv
      - type: ldap
        server: ldaps://ldap.example.org
        bind_dn: cn=reader,dc=example,dc=org
        bind_password: "{{ vault_ldap_reader_password }}"
        group_dn: cn=analysis,ou=groups,dc=example,dc=org
        admin_group_dn: cn=analysis-admins,ou=groups,dc=example,dc=org
  register: desired

- name: Desired users from an IAM group export
  daskhub.deploy.jupyterhub_user_source:
    sources:
      - type: http
        url: https://iam.example.org/scim/Groups/analysis
        bearer_token: "{{ vault_iam_token }}"
        users_query: "members[].display"
        admins_query: "members[?role=='admin'].display"
  register: desired
"""

RETURN = r"""
users:
  description: The union of every source's users (admins included), sorted, without duplicates.
  returned: success
  type: list
  elements: str
  sample: [alice, bob, carol]
admins:
  description: The union of every source's admins, sorted, without duplicates.
  returned: success
  type: list
  elements: str
  sample: [alice]
sources:
  description: Per source, its name, type and the number of users and admins it gave.
  returned: success
  type: list
  elements: dict
  sample: [{name: inventory, type: list, users: 2, admins: 1}]
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.hub import user_sources
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {"sources": {"type": "list", "elements": "dict", "required": True, **user_sources.SOURCES_OPTIONS}}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, user_sources.run, (user_sources.SourceError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
