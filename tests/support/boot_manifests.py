"""The templated objects of a booted chart site, read as the cluster and the kubelet read them.

``Manifests`` looks objects up by kind and name; ``env_of``, ``expand`` and
``lay_out_volumes`` do the kubelet's part for one container: its environment
(values, secretKeyRef, fieldRef), its $(VAR) expansion, its volumes as
directories and its mounts (support.chart_boot runs the pods).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

NAMESPACE = "daskhub"


class Manifests:
    """The templated objects of a site, looked up as the cluster would."""

    def __init__(self, objects: list[dict]):
        self.objects = objects

    def get(self, kind: str, name: str) -> dict:
        for item in self.objects:
            if item["kind"] == kind and item["metadata"]["name"] == name:
                return item
        raise KeyError(f"{kind}/{name} is not in the templated manifests")

    def of_kind(self, kind: str) -> list[dict]:
        return [item for item in self.objects if item["kind"] == kind]

    def secret_data(self, name: str) -> dict[str, bytes]:
        secret = self.get("Secret", name)
        data = {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}
        data.update({key: value.encode() for key, value in (secret.get("stringData") or {}).items()})
        return data

    def configmap_data(self, name: str) -> dict[str, bytes]:
        return {key: value.encode() for key, value in (self.get("ConfigMap", name).get("data") or {}).items()}

    def deployment(self, name: str) -> dict:
        return self.get("Deployment", name)

    def hub_config_file(self, name: str) -> str:
        return self.configmap_data("hub")[name].decode()


def pod_container(deployment: dict, name: str | None = None) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if name is None or c["name"] == name)


def env_of(container: dict, manifests: Manifests) -> dict[str, str]:
    """The container's env as the kubelet resolves it (values, secretKeyRef, fieldRef)."""
    env = {}
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        source = item.get("valueFrom") or {}
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[item["name"]] = manifests.secret_data(ref["name"])[ref["key"]].decode()
        elif "fieldRef" in source and source["fieldRef"]["fieldPath"] == "metadata.namespace":
            env[item["name"]] = NAMESPACE
    return env


def expand(text: str, env: dict) -> str:
    """Kubernetes' $(VAR) expansion in command and args."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def lay_out_volumes(deployment: dict, manifests: Manifests, root: Path, keep: dict[str, Path]) -> list:
    """Each volume as a directory (ConfigMap and Secret files 0644/0600), each mount as (source, target)."""
    spec = deployment["spec"]["template"]["spec"]
    volumes = {}
    for volume in spec.get("volumes") or []:
        folder = keep.get(volume["name"]) or root / "volumes" / volume["name"]
        folder.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            files, mode = manifests.configmap_data(volume["configMap"]["name"]), 0o644
        elif "secret" in volume:
            files, mode = manifests.secret_data(volume["secret"]["secretName"]), 0o600
        else:  # persistentVolumeClaim, emptyDir: a directory that outlives restarts when kept
            files, mode = {}, 0o600
        for key, data in files.items():
            (folder / key).write_bytes(data)
            (folder / key).chmod(mode)
        volumes[volume["name"]] = folder
    mounts = []
    for mount in pod_container(deployment).get("volumeMounts") or []:
        source = volumes[mount["name"]]
        if mount.get("subPath"):
            source = source / mount["subPath"]
        mounts.append((source, mount["mountPath"].rstrip("/") or "/"))
    return mounts
