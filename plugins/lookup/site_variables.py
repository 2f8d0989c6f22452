# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The site's variables that feed the model, by name, as the play sees them."""

from __future__ import annotations

DOCUMENTATION = r"""
name: site_variables
author: DaskHub deployer maintainers (!UNKNOWN)
short_description: The site's daskhub_* variables that roles/daskhub_model/meta/variables.yml declares
description:
  - Returns one mapping, variable name to its value as the play sees it (templates resolved), for the
    variables of the C(model) table in C(roles/daskhub_model/meta/variables.yml).
  - A declared variable the play does not define is left out.
  - The filter P(daskhub.deploy.site_model#filter) builds the site model from it; the model role's check validates it.
  - Secrets are among the values (the OAuth client secret, the dummy password); never print the result.
options:
  model_only:
    description:
      - Only the variables that feed a field of the model (the default), as the model role builds C(daskhub_model)
        on every reference. False adds the others of the table (C(daskhub_state_dir), ...), whose types the
        model role's check validates.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Build the site model
  ansible.builtin.set_fact:
    model: "{{ lookup('daskhub.deploy.site_variables') | daskhub.deploy.site_model }}"

- name: Every declared variable, for its type check
  ansible.builtin.set_fact:
    site_variables: "{{ lookup('daskhub.deploy.site_variables', model_only=false) }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One mapping, variable name to value.
  type: list
  elements: dict
  sample:
    - daskhub_target: local
      daskhub_release_name: dhub
      daskhub_namespace: daskhub
      daskhub_users: [alice, bob]
      daskhub_admin_users: [carol]
"""

from ansible.plugins.lookup import LookupBase
from ansible_collections.daskhub.deploy.plugins.module_utils.model import variables as site_variables


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        model_only = self.get_option("model_only")
        declared = [
            name
            for name, fields in site_variables.model_inputs().items()
            if name in variables and (fields or not model_only)
        ]
        values = self._templar.template([variables[name] for name in declared])
        return [dict(zip(declared, values, strict=True))]
