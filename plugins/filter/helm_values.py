"""Filters of the Kubernetes target: diffs and redaction around the Helm values."""

from __future__ import annotations

import base64

import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils import yaml_io
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import (
    external_gateway as external_access,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import merge as helm_merge
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import monitoring as k8s_monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import network_policies, umbrella


def helm_values_diff(deployed, rendered, secret_keys=None, label="values"):
    """Unified diff between `helm get values` and the rendered values, secrets left out.

    The deployed values hold the secrets too (Helm keeps every --values
    file); the keys of the secrets file are removed before comparing.
    """
    if isinstance(deployed, dict) and ("release_values" in deployed or "chart" in deployed):
        deployed = _deployed_values(deployed)  # a helm_info status
    return yaml_io.values_diff(yaml_io.strip_secret_paths(deployed or {}, secret_keys or {}), rendered or {}, label)


def redact_secrets(text, secrets):
    """Text with every value of the secrets dict replaced by ********."""
    return yaml_io.redact(str(text), secrets or {})


def k8s_secret_data(secrets, names):
    """The `data` of a Kubernetes Secret holding the named secrets (base64)."""
    return {name: base64.b64encode(str(secrets[name]).encode()).decode() for name in names if (secrets or {}).get(name)}


def k8s_secret_decode(data, names):
    """The named secrets from a Kubernetes Secret's `data`; others are ignored."""
    return {name: base64.b64decode(data[name]).decode() for name in names if (data or {}).get(name)}


def shared_secret_names(names, model):
    """Secrets shared through the cluster: the generated ones only.

    An operator's own value (the OAuth client secret, a set dummy password)
    comes from the inventory and must win over any copy.
    """
    provided = {"oauth_client_secret"}
    if (model or {}).get("dummy_password_set") in (True, "True", "true"):
        provided.add("dummy_password")
    return [name for name in names if name not in provided]


def ingress_address(ingress):
    """The address of a LoadBalancer ingress entry: its ip, else its hostname, else ""."""
    ingress = ingress or {}
    return ingress.get("ip") or ingress.get("hostname") or ""


def external_gateway(hub_url, load_balancer_address=""):
    """{address, proxy_address, code} for clients outside the cluster (the API over the hub's address)."""
    return external_access.external_gateway(hub_url, load_balancer_address)


def umbrella_move(model, deployed_chart, move=False):
    """{move, blocked, plan} for a site whose release runs the umbrella chart and whose model says composed."""
    return umbrella.umbrella_move(model, deployed_chart, bool(move))


def network_policy_selector(_model=None):
    """The label query of the NetworkPolicies this project applies (to remove them)."""
    return network_policies.label_selector()


def _deployed_values(status):
    # kubernetes.core.helm_info 6.x: release_values (values is deprecated)
    status = status or {}
    return status.get("release_values", status.get("values")) or {}


def _load_values_files(paths):
    merged = {}
    for path in paths:
        with open(path, encoding="utf-8") as stream:
            merged = helm_merge.deep_merge(merged, yaml.safe_load(stream) or {})
    return merged


def helm_pending_releases(info_results):
    """Names of the releases an install or upgrade would change.

    kubernetes.core.helm compares the deployed values with its values files
    merged only at the top level, so a values.yaml/secrets.yaml pair would
    always look changed; here they are merged the way helm merges them.
    `info_results` are kubernetes.core.helm_info results looped over the
    releases of the helm_values module.
    """
    pending = []
    for result in info_results or []:
        release = result["item"]
        status = result.get("status")
        chart = f"{release['chart'].rsplit('/', 1)[-1]}-{release['version']}"
        if (
            not status
            or str(status.get("status", "")).lower() != "deployed"
            or status.get("chart") != chart
            or _deployed_values(status) != _load_values_files([release["values_file"], release["secrets_file"]])
        ):
            pending.append(release["name"])
    return pending


def crd_documents(texts):
    """The CustomResourceDefinitions in YAML texts, one per name; a later text wins.

    Used with this role's shipped CRD files first and `helm show crds` of the
    target chart version last, so the chart's own copy is applied when helm
    can fetch it and the shipped one otherwise.
    """
    by_name = {}
    for text in texts or []:
        for document in yaml.safe_load_all(text or ""):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                document.pop("status", None)  # status belongs to the API server, not to an apply
                by_name[document["metadata"]["name"]] = document
    return [by_name[name] for name in sorted(by_name)]


class FilterModule:
    """daskhub.deploy filters for the Kubernetes target."""

    def filters(self):
        return {
            "helm_values_diff": helm_values_diff,
            "redact_secrets": redact_secrets,
            "k8s_secret_data": k8s_secret_data,
            "k8s_secret_decode": k8s_secret_decode,
            "shared_secret_names": shared_secret_names,
            "ingress_address": ingress_address,
            "helm_pending_releases": helm_pending_releases,
            "crd_documents": crd_documents,
            "external_gateway": external_gateway,
            "umbrella_move": umbrella_move,
            "network_policy_selector": network_policy_selector,
            "monitoring_token_secret": k8s_monitoring.token_secret,
            "monitoring_selector": k8s_monitoring.selector,
        }
