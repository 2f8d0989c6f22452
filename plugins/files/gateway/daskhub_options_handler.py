# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The cluster options users choose (worker cores, memory in GiB, image, GPUs) and the handler
that turns a choice into ClusterConfig overrides, with the user's volumes (her home, the site's
extra volumes) on her scheduler and workers on Kubernetes.

Reads its bounds as data, DASKHUB_GATEWAY_SETTINGS["options"], which
plugins/module_utils/model/gateway.py renders from the site model
(gateway_options), so both targets offer the same choices. Part of
dask-gateway-server's config on both targets (see README.md here).
"""

# ruff: noqa: F821  `c` and DASKHUB_GATEWAY_SETTINGS are the config's globals

import re as daskhub_re

from dask_gateway_server import options as daskhub_options
from traitlets.utils.importstring import import_item as daskhub_import_item


def daskhub_image_has_tag(image: str) -> bool:
    """True when the image names a tag or a digest ("registry:5000/img" has a port, not a tag)."""
    if "@sha256:" in image:
        return True
    name, sep, tag = image.rsplit("/", 1)[-1].partition(":")
    return bool(name and sep and tag)


def daskhub_cluster_config_traits(config) -> set | None:
    """The ClusterConfig traits of the backend the config names; None when it cannot be told.

    The local backends' ClusterConfig has no image or container settings:
    the handler drops what the running backend does not know instead of
    making it warn.
    """
    backend = config.DaskGateway.backend_class
    if isinstance(backend, str):
        backend = daskhub_import_item(backend)
    if not isinstance(backend, type):
        return None
    config_class = backend.class_traits()["cluster_config_class"].default()
    if isinstance(config_class, str):
        config_class = daskhub_import_item(config_class)
    return set(config_class.class_trait_names(config=True))


DASKHUB_HOME_VOLUME = "daskhub-home"


def daskhub_pod_volumes(settings: dict, username: str) -> dict:
    """{"scheduler"|"worker": (volumes, volumeMounts)} of ``username``'s pods, from the ``volumes`` settings.

    ``{username}`` in a claim or a subPath is the user's name as the hub has
    it (the shared claim's folder: KubeSpawner's ``{unescaped_username}``).
    A user's own claim KubeSpawner names from her name escaped, by a scheme
    that changed between its versions; the two agree for names of a
    lowercase letter then lowercase letters and digits, and another name's
    home cannot be found.
    """
    pods = {"scheduler": ([], []), "worker": ([], [])}
    home = settings.get("home")
    if home:
        if "{username}" in home["claim"] and not daskhub_re.fullmatch(r"[a-z][a-z0-9]{0,62}", username):
            raise ValueError(
                f"this site mounts each user's own home claim on her Dask workers, which it finds for "
                f"names of a lowercase letter then lowercase letters and digits, not {username!r}: "
                "ask the site's admins (a shared home claim, daskhub_gateway_user_home.claim, has no such limit)"
            )
        claim = home["claim"].replace("{username}", username)
        volume = {"name": DASKHUB_HOME_VOLUME, "persistentVolumeClaim": {"claimName": claim}}
        mount = {"name": DASKHUB_HOME_VOLUME, "mountPath": home["mount_path"]}
        if home["sub_path"]:
            mount["subPath"] = home["sub_path"].replace("{username}", username)
        for volumes, mounts in pods.values():
            volumes.append(volume)
            mounts.append(mount)
    for extra in settings.get("extra") or []:
        mount = {"name": extra["name"], "mountPath": extra["mount_path"], "readOnly": extra["read_only"]}
        if extra["sub_path"]:
            mount["subPath"] = extra["sub_path"].replace("{username}", username)
        if extra.get("mount_propagation"):
            mount["mountPropagation"] = extra["mount_propagation"]
        for kind in ("scheduler", "worker") if extra["scheduler"] else ("worker",):
            pods[kind][0].append({"name": extra["name"], **extra["volume"]})
            pods[kind][1].append(mount)
    return pods


def daskhub_with_volumes(overrides: dict, settings: dict, username: str, config) -> dict:
    """``overrides`` with the user's volumes added to the pods' extra config.

    An override replaces the KubeClusterConfig value the chart set
    (gateway.backend.*.extraPodConfig: tolerations, node selector, security
    context), so the volumes are added to that value, not put in its place.
    """
    static = config.KubeClusterConfig if "KubeClusterConfig" in config else {}
    for kind, (volumes, mounts) in daskhub_pod_volumes(settings, username).items():
        if not volumes:
            continue
        for key, field, added in (("pod", "volumes", volumes), ("container", "volumeMounts", mounts)):
            trait = f"{kind}_extra_{key}_config"
            value = dict(static.get(trait) or {}, **(overrides.get(trait) or {}))
            value[field] = [*(value.get(field) or []), *added]
            overrides[trait] = value
    return overrides


def daskhub_cluster_options(settings: dict, config) -> daskhub_options.Options:
    """The Options users choose from, with the site's bounds; ``config`` is the gateway's (c)."""
    cores, memory, gpus = settings["worker_cores"], settings["worker_memory"], settings.get("gpus")

    def handler(options, user):
        image = options.image.strip()
        if not daskhub_image_has_tag(image):
            raise ValueError(settings["image_tag_error"])
        memory_bytes = int(options.worker_memory * 2**30)
        overrides = {
            "worker_cores": options.worker_cores,
            "worker_cores_limit": options.worker_cores,
            "worker_memory": memory_bytes,
            "worker_memory_limit": memory_bytes,
            "image": image,
        }
        if gpus and options.num_gpus:
            resources = {gpus["resource"]: options.num_gpus}
            overrides["worker_extra_container_config"] = {"resources": {"limits": resources, "requests": resources}}
        if settings.get("volumes"):
            overrides = daskhub_with_volumes(overrides, settings["volumes"], user.name, config)
        known = daskhub_cluster_config_traits(config)
        if known is None:
            return overrides
        return {key: value for key, value in overrides.items() if key in known}

    fields = [
        daskhub_options.Integer(
            "worker_cores", default=cores["default"], min=cores["min"], max=cores["max"], label="Worker cores"
        ),
        daskhub_options.Float(
            "worker_memory",
            default=memory["default"],
            min=memory["min"],
            max=memory["max"],
            label="Worker memory (GiB)",
        ),
        daskhub_options.String("image", default=settings["image"], label="Image"),
    ]
    if gpus:
        fields.append(
            daskhub_options.Integer(
                "num_gpus", default=gpus["default"], min=gpus["min"], max=gpus["max"], label="GPUs per worker"
            )
        )
    return daskhub_options.Options(*fields, handler=handler)


if "c" in globals():  # run as config (traitlets gives it c), not imported
    c.Backend.cluster_options = daskhub_cluster_options(DASKHUB_GATEWAY_SETTINGS["options"], c)
