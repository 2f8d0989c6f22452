#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Reads what the Kubernetes target needs on the host that runs helm, in one call."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kubernetes_tools
short_description: Read the installed helm, kubectl and Python kubernetes client, and the kubeconfig contexts
version_added: 0.2.0
description:
  - Reads, in one call and without changing anything, what the prerequisites of the Kubernetes target decide
    from. These are the installed helm's and kubectl's versions, the version of the Python kubernetes client of
    the interpreter this module runs on (the one kubernetes.core's modules run on), and the context names of the
    kubeconfig files. A missing or failing program reports an empty version.
  - A kubeconfig holds the cluster's credentials; only its context names are returned.
  - On the controller itself (connection C(local), no become, the play's own interpreter) no module process
    starts; the reads were five module processes on every converge before.
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  helm_binary:
    description: The helm to ask, a path or a name on E(PATH).
    type: str
    required: true
  kubectl_binary:
    description: The kubectl to ask, a path or a name on E(PATH).
    type: str
    required: true
  kubeconfig_files:
    description:
      - The kubeconfig files whose contexts count. As kubectl does, a file that does not exist is skipped.
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - daskhub.deploy.attributes.check_mode_only
"""

EXAMPLES = r"""
- name: Read the tools and the kubeconfig contexts
  daskhub.deploy.kubernetes_tools:
    helm_binary: /usr/local/bin/helm
    kubectl_binary: /usr/local/bin/kubectl
    kubeconfig_files: ["~/.kube/config"]
  register: tools
"""

RETURN = r"""
helm_version:
  description: What C(helm version --short) printed; empty when helm is missing or fails.
  returned: always
  type: str
  sample: v4.1.4+g05fa379
kubectl_version:
  description: The client's gitVersion of C(kubectl version --client --output=json); empty when kubectl is
    missing or fails.
  returned: always
  type: str
  sample: v1.35.0
python_client_version:
  description: The version of the Python kubernetes package of RV(python), from its metadata; empty when it
    has none.
  returned: always
  type: str
  sample: 33.1.0
python:
  description: The interpreter this module ran on.
  returned: always
  type: str
  sample: /opt/deployer/.venv/bin/python
kubeconfig_files:
  description: Each of O(kubeconfig_files), and whether it exists.
  returned: always
  type: list
  elements: dict
  sample: [{path: /root/.kube/config, exists: true}]
contexts:
  description: The context names of the kubeconfig files that exist, sorted, each once.
  returned: always
  type: list
  elements: str
  sample: [site-a, site-b]
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.host import kubernetes_tools
from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork

ARGUMENT_SPEC = {
    "helm_binary": {"type": "str", "required": True},
    "kubectl_binary": {"type": "str", "required": True},
    "kubeconfig_files": {"type": "list", "elements": "path", "default": []},
}

MODULE_WORK = ModuleWork(ARGUMENT_SPEC, kubernetes_tools.read_tools, (kubernetes_tools.KubernetesToolsError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
