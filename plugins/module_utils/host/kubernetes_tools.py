# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""What the Kubernetes target needs on the host that runs helm, read in one call (the kubernetes_tools module).

The installed helm's and kubectl's versions, the version of the Python
kubernetes client of the interpreter kubernetes.core's modules run on (the
one running this), and the context names of the kubeconfig files. The
prerequisites role decides from these what to install and what to refuse;
before, each was a module process of its own (two commands, a script, a
stat and a slurp per file): five processes on every converge.

A kubeconfig holds the cluster's credentials (tokens, client keys): only its
context names leave this module.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from importlib import metadata

from ansible_collections.daskhub.deploy.plugins.module_utils.host.module_io import Run
from ansible_collections.daskhub.deploy.plugins.module_utils.yaml_io import require_yaml


class KubernetesToolsError(Exception):
    """A kubeconfig that exists and cannot be read as one."""


def _output_of(run: Run, argv: list[str]) -> str:
    """``argv``'s standard output, or "" where the program is missing or fails (then it is not installed)."""
    if not shutil.which(argv[0]):
        return ""
    rc, out, _err = run(argv)
    return out.strip() if rc == 0 else ""


def helm_version(run: Run, helm: str) -> str:
    """``helm version --short`` (v4.1.4+g05fa379), or ""."""
    return _output_of(run, [helm, "version", "--short"])


def kubectl_version(run: Run, kubectl: str) -> str:
    """The client's gitVersion (v1.35.0) of ``kubectl version --client --output=json``, or ""."""
    out = _output_of(run, [kubectl, "version", "--client", "--output=json"])
    try:
        version = json.loads(out)["clientVersion"]["gitVersion"] if out else ""
    except (ValueError, KeyError, TypeError):
        return ""
    return version if isinstance(version, str) else ""


def python_client_version() -> str:
    """The version of the kubernetes package this interpreter has, from its metadata, or "".

    The metadata, not an import: importing the client takes about a second.
    """
    try:
        return metadata.version("kubernetes")
    except metadata.PackageNotFoundError:
        return ""


def kubeconfig_contexts(paths: list[str]) -> tuple[list[dict], list[str]]:
    """([{path, exists}] for each file, the sorted context names of those that exist).

    As kubectl does, a file of the list that does not exist is skipped; an
    empty file has no context.
    """
    yaml = require_yaml()
    files, contexts = [], set()
    for path in paths:
        exists = os.path.isfile(path)
        files.append({"path": path, "exists": exists})
        if not exists:
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                config = yaml.safe_load(handle) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            # The error's own text may quote the file: only its kind is said.
            raise KubernetesToolsError(f"cannot read the kubeconfig {path}: {type(err).__name__}") from None
        entries = config.get("contexts") if isinstance(config, dict) else None
        for entry in entries or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                contexts.add(entry["name"])
    return files, sorted(contexts)


def read_tools(module) -> dict:
    """The kubernetes_tools module's work: the result of its parameters; it changes nothing."""
    params = module.params
    files, contexts = kubeconfig_contexts(params["kubeconfig_files"])
    return {
        "changed": False,
        "helm_version": helm_version(module.run_command, params["helm_binary"]),
        "kubectl_version": kubectl_version(module.run_command, params["kubectl_binary"]),
        "python_client_version": python_client_version(),
        "python": sys.executable,
        "kubeconfig_files": files,
        "contexts": contexts,
    }
