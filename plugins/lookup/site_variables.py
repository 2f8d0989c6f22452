# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The site's variables that feed the model, by name, as the play sees them."""

from __future__ import annotations

from ansible.plugins.lookup import LookupBase
from ansible_collections.daskhub.deploy.plugins.module_utils.model import variables as site_variables

DOCUMENTATION = r"""
name: site_variables
author: DaskHub deployer maintainers
short_description: The site's daskhub_* variables that roles/daskhub_model/meta/variables.yml declares
description:
  - Returns one mapping, variable name to its value as the play sees it (templates resolved), for every
    variable of the C(model) table in C(roles/daskhub_model/meta/variables.yml).
  - A declared variable the play does not define is left out.
  - The filter C(daskhub.deploy.site_model) builds the site model from it; the model role's check validates it.
  - Secrets are among the values (the OAuth client secret, the dummy password); never print the result.
options: {}
"""

EXAMPLES = r"""
- name: Build the site model
  ansible.builtin.set_fact:
    model: "{{ lookup('daskhub.deploy.site_variables') | daskhub.deploy.site_model }}"
"""

RETURN = r"""
_raw:
  description: One mapping, variable name to value.
  type: list
  elements: dict
"""


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        declared = [name for name in site_variables.model_inputs() if name in variables]
        values = self._templar.template([variables[name] for name in declared])
        return [dict(zip(declared, values, strict=True))]
