# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The cluster options users choose (worker cores, memory in GiB, image, GPUs) and the handler
that turns a choice into ClusterConfig overrides, with the user's volumes (her home, the site's
extra volumes) on her scheduler and workers on Kubernetes.

Each user gets her own Options: the site's bounds, or for a member of the
hub groups the site names (group_limits) the largest bound her groups give,
and the most workers per cluster; a request over it is refused saying which
groups set the bound.

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


# The per-group bounds a hub group may set (DASKHUB_GATEWAY_SETTINGS["options"]["group_limits"]).
DASKHUB_GROUP_BOUNDS = ("worker_cores", "worker_memory", "worker_gpus", "cluster_max_workers")


def daskhub_user_bounds(settings: dict, groups) -> dict:
    """What a user in hub ``groups`` may ask for: the largest bound any of her groups gives, else the site's.

    Returns {"worker_cores": max, "worker_memory": max, "worker_gpus": max or None,
    "cluster_max_workers": n or None (the site's ClusterConfig), "groups": the groups that gave a bound}.
    """
    gpus = settings.get("gpus")
    bounds = {
        "worker_cores": settings["worker_cores"]["max"],
        "worker_memory": settings["worker_memory"]["max"],
        "worker_gpus": gpus["max"] if gpus else None,
        "cluster_max_workers": None,
        "groups": [],
    }
    limits = settings.get("group_limits") or {}
    mine = {group: limits[group] for group in sorted(set(groups or ())) if group in limits}
    for key in DASKHUB_GROUP_BOUNDS:
        given = [value[key] for value in mine.values() if value.get(key) is not None]
        if given and not (key == "worker_gpus" and not gpus):
            bounds[key] = max(given)
    bounds["groups"] = sorted(mine)
    return bounds


class DaskhubOptions(daskhub_options.Options):
    """Options whose refusals say where the bound comes from (the user's hub groups)."""

    def __init__(self, *fields, handler=None, origin=""):
        super().__init__(*fields, handler=handler)
        self.daskhub_origin = origin

    def parse_options(self, request):
        try:
            return super().parse_options(request)
        except ValueError as err:
            if not self.daskhub_origin:
                raise
            raise ValueError(f"{err} ({self.daskhub_origin})") from None


def daskhub_cluster_options(settings: dict, config, user=None) -> daskhub_options.Options:
    """The Options ``user`` chooses from, within her bounds; ``config`` is the gateway's (c).

    ``user``: dask-gateway's User (its ``groups`` are the hub's groups of the
    user, from the gateway's JupyterHub authenticator); None gives the site's
    bounds, which a user in none of the groups of group_limits gets.
    """
    cores, memory, gpus = settings["worker_cores"], settings["worker_memory"], settings.get("gpus")
    bounds = daskhub_user_bounds(settings, getattr(user, "groups", None))
    origin = f"the most your groups allow: {', '.join(bounds['groups'])}" if bounds["groups"] else ""

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
        if bounds["cluster_max_workers"] is not None:
            overrides["cluster_max_workers"] = bounds["cluster_max_workers"]
        if gpus and options.num_gpus:
            resources = {gpus["resource"]: options.num_gpus}
            overrides["worker_extra_container_config"] = {"resources": {"limits": resources, "requests": resources}}
        if settings.get("volumes"):
            overrides = daskhub_with_volumes(overrides, settings["volumes"], user.name, config)
        known = daskhub_cluster_config_traits(config)
        if known is None:
            return overrides
        return {key: value for key, value in overrides.items() if key in known}

    def bounded(spec, most):
        """(default, min, max) of a field for this user: the site's range, capped at her bound."""
        return min(spec["default"], most), min(spec["min"], most), most

    core_default, core_min, core_max = bounded(cores, bounds["worker_cores"])
    memory_default, memory_min, memory_max = bounded(memory, bounds["worker_memory"])
    fields = [
        daskhub_options.Integer("worker_cores", default=core_default, min=core_min, max=core_max, label="Worker cores"),
        daskhub_options.Float(
            "worker_memory",
            default=float(memory_default),
            min=float(memory_min),
            max=float(memory_max),
            label="Worker memory (GiB)",
        ),
        daskhub_options.String("image", default=settings["image"], label="Image"),
    ]
    if gpus:
        gpu_default, gpu_min, gpu_max = bounded(gpus, bounds["worker_gpus"])
        fields.append(
            daskhub_options.Integer("num_gpus", default=gpu_default, min=gpu_min, max=gpu_max, label="GPUs per worker")
        )
    return DaskhubOptions(*fields, handler=handler, origin=origin)


if "c" in globals():  # run as config (traitlets gives it c), not imported
    # dask-gateway calls it with the user asking (backends/base.py, get_cluster_options).
    c.Backend.cluster_options = lambda user, settings=DASKHUB_GATEWAY_SETTINGS["options"], config=c: (
        daskhub_cluster_options(settings, config, user)
    )
