"""What the Kubernetes target needs on its controller (module_utils/host/kubernetes_tools.py), read for real.

The real helm 4 and kubectl of the npm layer (support.k8s_tools) answer
their versions, run through the worker's run_command (plugin_utils/in_process.py);
the interpreter's own metadata answers the client's; the kubeconfig files are
support.kubeconfig's. The module around the work runs in the
integration tests (tests/integration/test_kubernetes_prerequisites.py).
"""

from __future__ import annotations

from importlib import metadata

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import kubernetes_tools as kt
from ansible_collections.daskhub.deploy.plugins.plugin_utils.in_process import WorkerModule
from support import k8s_tools
from support.kubeconfig import unreachable_kubeconfig

TOKEN = "the-cluster-token"


def module(**params):
    """The module as the controller's worker runs it (its run_command is the project's own)."""
    return WorkerModule(params, check_mode=False, diff=False)


run = module().run_command


def test_the_real_tools_answer_their_versions():
    tools = k8s_tools.tools()
    assert kt.helm_version(run, str(tools["helm"])).startswith(f"v{k8s_tools.HELM_VERSION}+")
    assert kt.kubectl_version(run, str(tools["kubectl"])) == f"v{k8s_tools.KUBECTL_VERSION}"


def test_a_missing_or_failing_tool_has_no_version(tmp_path):
    assert kt.helm_version(run, str(tmp_path / "helm")) == ""
    failing = tmp_path / "kubectl"
    failing.write_text("#!/bin/sh\necho 'not json'\nexit 1\n")
    failing.chmod(0o755)
    assert kt.kubectl_version(run, str(failing)) == ""
    garbled = tmp_path / "garbled"
    garbled.write_text("#!/bin/sh\necho '{\"clientVersion\": 3}'\n")
    garbled.chmod(0o755)
    assert kt.kubectl_version(run, str(garbled)) == ""


def test_the_client_version_is_this_interpreters():
    try:
        expected = metadata.version("kubernetes")
    except metadata.PackageNotFoundError:
        expected = ""
    assert kt.python_client_version() == expected


def test_contexts_of_the_files_that_exist_and_never_their_credentials(tmp_path):
    first, empty, missing = tmp_path / "a", tmp_path / "empty", tmp_path / "missing"
    unreachable_kubeconfig(first, ["site-b", "site-a"], "site-b", token=TOKEN)
    empty.write_text("")
    files, contexts = kt.kubeconfig_contexts([str(first), str(empty), str(missing)])
    assert files == [
        {"path": str(first), "exists": True},
        {"path": str(empty), "exists": True},
        {"path": str(missing), "exists": False},
    ]
    assert contexts == ["site-a", "site-b"]
    result = kt.read_tools(
        module(helm_binary="helm-nowhere", kubectl_binary="kubectl-nowhere", kubeconfig_files=[str(first)])
    )
    assert (result["helm_version"], result["kubectl_version"], result["changed"]) == ("", "", False)
    assert result["contexts"] == ["site-a", "site-b"]
    assert TOKEN not in repr(result)


def test_a_kubeconfig_that_is_not_yaml_is_named_without_its_content(tmp_path):
    broken = tmp_path / "config"
    broken.write_text(f"token: {TOKEN}\n  contexts: [oops\n")
    with pytest.raises(kt.KubernetesToolsError) as failure:
        kt.kubeconfig_contexts([str(broken)])
    assert str(broken) in str(failure.value)
    assert TOKEN not in str(failure.value)
