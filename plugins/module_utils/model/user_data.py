"""The user's data on her Dask schedulers and workers: her home and the site's extra volumes.

On Kubernetes a notebook's home is a volume of its own pod; the cluster's
pods see it only when it is shared storage and mounted there too:

- ``gateway.user_home`` (daskhub_gateway_user_home): the home on schedulers
  and workers at ``mount_path``. With ``claim``, one ReadWriteMany claim holds
  every home, a subdirectory per user named as the hub names her (the
  notebook's home is rendered from it too, z2jh's ``singleuser.storage``
  ``static``); without, each user's own claim (``claim-<name>``, z2jh's
  dynamic storage, made ReadWriteMany), which KubeSpawner names the same
  way in all its versions only for names of a lowercase letter then
  lowercase letters and digits.
- ``gateway.extra_volumes`` (daskhub_gateway_extra_volumes): volumes (a host
  path such as CVMFS, a claim, an NFS export) on workers and, unless
  ``scheduler: false``, schedulers; ``sub_path`` may name the user,
  ``{username}``.

The pods' mounts depend on the user, so the options handler
(plugins/files/gateway/daskhub_options_handler.py) adds them to each cluster
from these settings (``volume_settings``); the notebook side is rendered by
render/kubernetes/values.py (``home_storage``).

On the local target schedulers and workers run as the user on the same
host and see her home already: ``enabled`` needs nothing there, and what
only Kubernetes can mount is refused (``validate``).
"""

from __future__ import annotations

import re

HOME_MOUNT_PATH = "/home/jovyan"
# The home's volume in the cluster's pods (the options handler's DASKHUB_HOME_VOLUME), beside dask-gateway's own.
RESERVED_VOLUMES = ("daskhub-home", "dask-credentials")
# The per-user claim of z2jh's dynamic storage for a user's default server
# (KubeSpawner's claim-{username}{servername}, and claim-{user_server}).
PER_USER_CLAIM = "claim-{username}"
USERNAME = "{username}"
# KubeSpawner's {username} is escaped, by a scheme that changed between its
# versions; {unescaped_username} is the hub's name as it is, the name the
# options handler has: the shared claim's folder is named by it.
KUBESPAWNER_RAW_NAME = "{unescaped_username}"
SOURCES = ("host_path", "claim", "nfs")
_VOLUME_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def user_home(model: dict) -> dict:
    return (model.get("gateway") or {}).get("user_home") or {}


def extra_volumes(model: dict) -> list:
    return list((model.get("gateway") or {}).get("extra_volumes") or [])


def _source(volume: dict) -> dict:
    if volume.get("host_path"):
        return {"hostPath": {"path": volume["host_path"]}}
    if volume.get("claim"):
        return {"persistentVolumeClaim": {"claimName": volume["claim"]}}
    nfs = volume["nfs"]
    return {"nfs": {"server": nfs["server"], "path": nfs["path"]}}


def volume_settings(model: dict) -> dict | None:
    """The options handler's ``volumes`` settings (None: nothing to mount), Kubernetes only.

    ``home``: the claim (``{username}`` for each user's own), the subdirectory
    and the mount path; ``extra``: each volume's source, mount and pods.
    """
    if model.get("target") != "kubernetes":
        return None
    home = user_home(model)
    settings = {"home": None, "extra": []}
    if home.get("enabled"):
        claim = home.get("claim") or ""
        settings["home"] = {
            "claim": claim or PER_USER_CLAIM,
            "sub_path": USERNAME if claim else "",
            "mount_path": home.get("mount_path") or HOME_MOUNT_PATH,
        }
    for volume in extra_volumes(model):
        settings["extra"].append(
            {
                "name": volume["name"],
                "volume": _source(volume),
                "mount_path": volume["mount_path"],
                "sub_path": volume.get("sub_path") or "",
                "read_only": bool(volume.get("read_only", True)),
                "scheduler": bool(volume.get("scheduler", True)),
                "mount_propagation": volume.get("mount_propagation") or None,
            }
        )
    return settings if settings["home"] or settings["extra"] else None


def home_storage(model: dict) -> dict:
    """z2jh ``singleuser.storage`` keys for a home the workers mount too ({} when they do not)."""
    home = user_home(model)
    if not home.get("enabled"):
        return {}
    storage = {"homeMountPath": home.get("mount_path") or HOME_MOUNT_PATH}
    if home.get("claim"):
        storage.update(type="static", static={"pvcName": home["claim"], "subPath": KUBESPAWNER_RAW_NAME})
    else:
        dynamic = {"storageAccessModes": ["ReadWriteMany"], "storageClass": home.get("storage_class") or None}
        storage.update(type="dynamic", dynamic=dynamic)
    return storage


def validate(model: dict, errors: list, variable_of) -> None:
    """The home's and the volumes' rules; on the local target, what it cannot mount."""
    home_at, volumes_at = variable_of("gateway.user_home"), variable_of("gateway.extra_volumes")
    home, volumes = user_home(model), extra_volumes(model)
    local = model.get("target") == "local"
    mount_path = home.get("mount_path")
    if mount_path is not None and not str(mount_path).startswith("/"):
        errors.append(f"{home_at}.mount_path: must be an absolute path, got {mount_path!r}")
    for key in ("claim", "storage_class"):
        if home.get(key) and local:
            errors.append(
                f"{home_at}.{key}: the local target has no claims: its schedulers and workers run as the user "
                "on the hub's host and see her home already (leave it empty)"
            )
        elif home.get(key) and not home.get("enabled"):
            errors.append(f"{home_at}.{key}: set, but the home is not mounted on workers (enabled: false)")
    if volumes and local:
        errors.append(
            f"{volumes_at}: the local target cannot mount volumes on workers: they run as the user on the "
            "hub's host and see its file system (use a path there instead)"
        )
    names = set()
    for index, volume in enumerate(volumes):
        where = f"{volumes_at}[{index}]"
        name = volume.get("name")
        if not name or not _VOLUME_NAME.match(str(name)):
            errors.append(f"{where}.name: required, lowercase letters, digits and '-', got {name!r}")
        elif name in names or name in RESERVED_VOLUMES:
            errors.append(f"{where}.name: {name!r} is already a volume of the cluster's pods")
        names.add(name)
        if not str(volume.get("mount_path") or "").startswith("/"):
            errors.append(f"{where}.mount_path: required, an absolute path")
        given = [key for key in SOURCES if volume.get(key)]
        if len(given) != 1:
            errors.append(f"{where}: exactly one of {', '.join(SOURCES)}, got {given or 'none'}")
        elif given == ["nfs"] and not (isinstance(volume["nfs"], dict) and volume["nfs"].get("server")
                                       and str(volume["nfs"].get("path") or "").startswith("/")):
            errors.append(f"{where}.nfs: needs server and an absolute path")
        if volume.get("mount_propagation") not in (None, "", "None", "HostToContainer"):
            errors.append(f"{where}.mount_propagation: must be None or HostToContainer")
        sub_path = str(volume.get("sub_path") or "")
        if sub_path.startswith("/") or ".." in sub_path.split("/"):
            errors.append(f"{where}.sub_path: a relative path inside the volume, got {sub_path!r}")
