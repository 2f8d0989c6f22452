"""Helm values and secrets of the Kubernetes target.

One site model renders, per Helm release (render/kubernetes/releases.py), a
`values` dict (nothing secret) and a `secrets` dict (tokens, the OAuth
client secret, the dummy password). Helm receives both files; it merges them
like any two `--values` files.

Two chart modes:
- `daskhub`: the dask/daskhub umbrella chart, one release; the values have a
  `jupyterhub:` and a `dask-gateway:` section for the two subcharts.
- `composed`: the jupyterhub and dask-gateway charts as two releases. We
  render the glue the umbrella adds (service URL, DASK_GATEWAY__* in user
  pods, gateway prefix and auth) ourselves, from the same model/ pieces.

The gateway's own code (the options handler, the authenticator) is not
rendered: gateway.extraConfig carries the files of plugins/files/gateway/
verbatim, after one entry that assigns their settings as JSON
(gateway_extra_config).

Pure Python (PyYAML only), shared by the helm_values module, the filters
and the unit tests.
"""

from __future__ import annotations

import ipaddress
import json

from ansible_collections.daskhub.deploy.plugins.module_utils.model import cull as cull_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import gateway as gateway_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import hub as hub_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import quantities, user_data
from ansible_collections.daskhub.deploy.plugins.module_utils.model import secrets as model_secrets
from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX
from ansible_collections.daskhub.deploy.plugins.module_utils.render import files as service_files
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import monitoring as k8s_monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import network_policies, notebook
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import profiles as k8s_profiles
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.external_gateway import (
    gateway_api_cleartext_warnings,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.https import (
    https_secret_values,
    https_values,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.merge import deep_merge
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.network_policies import (
    network_policy_additions,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.releases import (
    SECTIONS,
    ValuesError,
    chart_versions,
    gateway_fullname,
    gateway_internal_address,
    gateway_proxy_address,
    gateway_service_url,
    releases,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation

# A LoadBalancer without source ranges, or with one of these, is reachable
# from the whole internet.
_OPEN_RANGES = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))

# Schedulers and workers never run as root, whatever the image's USER says
# (the local target's backends refuse uid 0 where they launch): the
# unprivileged uid the jupyterhub chart gives notebooks (singleuser.uid).
CLUSTER_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 1000}


def _prune(value):
    """Drop None and empty dicts a renderer produced for unset model fields."""
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items() if item is not None}
        return {key: item for key, item in pruned.items() if item != {}}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def split_image(image: str) -> tuple[str, str]:
    """("registry:5000/org/img", "tag") from "registry:5000/org/img:tag"."""
    if "@" in image:
        name, _unused, digest = image.partition("@")
        return name, f"@{digest}"
    head, _unused, last = image.rpartition("/")
    name, _unused, tag = last.partition(":")
    return (f"{head}/{name}" if head else name), tag


def _as_quantity(value):
    """Kubernetes quantities as strings, plain numbers left as numbers."""
    if value is None or isinstance(value, (int, float)):
        return value
    return str(value)


# --- Rendering -----------------------------------------------------------------


def _profile(profile: dict) -> dict:
    override = {
        "image": profile.get("image"),
        "node_selector": profile.get("node_selector") or None,
        "cpu_limit": profile.get("cpu_limit"),
        "cpu_guarantee": profile.get("cpu_guarantee"),
        "mem_limit": _as_quantity(profile.get("mem_limit")),
        "mem_guarantee": _as_quantity(profile.get("mem_guarantee")),
        "extra_resource_limits": {k: _as_quantity(v) for k, v in (profile.get("extra_resource_limits") or {}).items()}
        or None,
        "extra_resource_guarantees": {
            k: _as_quantity(v) for k, v in (profile.get("extra_resource_guarantees") or {}).items()
        }
        or None,
        "tolerations": list(profile.get("tolerations") or []) or None,
    }
    rendered = {
        "display_name": profile["display_name"],
        "description": profile.get("description"),
        "default": True if profile.get("default") else None,
        "kubespawner_override": _prune(override),
    }
    return _prune(rendered)


def _volumes(singleuser: dict) -> tuple[list, list]:
    volumes, mounts = [], []
    for volume in singleuser.get("extra_volumes") or []:
        volumes.append({"name": volume["name"], "hostPath": {"path": volume["host_path"]}})
        mount = {
            "name": volume["name"],
            "mountPath": volume["mount_path"],
            "readOnly": bool(volume.get("read_only", True)),
        }
        if volume.get("mount_propagation") not in (None, "", "None"):
            mount["mountPropagation"] = volume["mount_propagation"]
        mounts.append(mount)
    return volumes, mounts


def _jupyterhub_values(model: dict, versions: dict, composed: bool, files_dir: str | None = None) -> dict:
    singleuser = model["singleuser"]
    gateway_url = gateway_service_url(model)
    extra_env = {str(k): str(v) for k, v in (singleuser.get("extra_env") or {}).items()}
    extra_env.update(hub_model.notebook_environment(model, image_from_notebook=True))
    extra_env["PYTHONPATH"] = hub_model.notebook_python_path(notebook.CONFIG_DIR, extra_env)
    if composed:
        # The umbrella chart sets these in its hub extraConfig; composed, we do.
        extra_env.update(
            hub_model.user_environment(
                gateway_internal_address(model), gateway_proxy_address(model), f"{GATEWAY_PREFIX}/"
            )
        )
    volumes, mounts = _volumes(singleuser)
    https = https_values(model)
    network_policy = {"enabled": bool(model.get("hub_network_policy_enabled"))}
    additions = network_policy_additions(model)
    roles = hub_model.hub_roles(model, versions["dask-gateway"])
    values = {
        "hub": {
            "config": hub_model.hub_config(
                model, versions["dask-gateway"], hub_model.oauthenticator_major(versions["jupyterhub"])
            ),
            "services": hub_model.hub_services(model, gateway_url, exporter=k8s_monitoring.exporter(model)),
            "loadRoles": {role["name"]: role for role in roles},
            "networkPolicy": network_policy,
            # The chart creates the hub database's PVC as part of the release;
            # without this, `helm uninstall` deletes every user and token.
            "db": {"pvc": {"annotations": {"helm.sh/resource-policy": "keep"}}},
        },
        "proxy": {
            "service": {
                "type": model.get("proxy_service_type"),
                "loadBalancerIP": model.get("proxy_load_balancer_ip") or None,
            },
            "https": https,
            "chp": {"networkPolicy": dict(network_policy, **additions["chp"])},
            "traefik": {"networkPolicy": dict(network_policy)},
        },
        "singleuser": {
            "image": {"name": singleuser["image_name"], "tag": str(singleuser["image_tag"])},
            "defaultUrl": singleuser.get("default_url") or None,
            "startTimeout": int(singleuser["start_timeout"]) if singleuser.get("start_timeout") else None,
            "cpu": {"limit": singleuser.get("cpu_limit"), "guarantee": singleuser.get("cpu_guarantee")},
            "memory": {
                "limit": _as_quantity(singleuser.get("memory_limit")),
                "guarantee": _as_quantity(singleuser.get("memory_guarantee")),
            },
            "storage": {
                "capacity": _as_quantity(singleuser.get("storage_capacity")),
                "extraVolumes": volumes or None,
                "extraVolumeMounts": mounts or None,
                **user_data.home_storage(model),
            },
            "extraEnv": extra_env or None,
            "extraFiles": notebook.extra_files(model, files_dir),
            "profileList": [_profile(p) for p in singleuser.get("profiles") or []] or None,
            "networkPolicy": dict(network_policy, **additions["singleuser"]),
        },
        "cull": cull_model.chart_values(model),
    }
    values = deep_merge(values, k8s_profiles.hub_values(model, files_dir))
    return _prune(deep_merge(values, k8s_monitoring.hub_values(model, files_dir)))


def _jupyterhub_secrets(model: dict, secrets: dict) -> dict:
    tokens = model_secrets.service_tokens(model, secrets)
    # The chart defines its culler's service itself (cull.*), with the hub's own token.
    tokens.pop(cull_model.CULLER_SERVICE, None)
    return {
        "proxy": {"secretToken": secrets["proxy_secret_token"], **https_secret_values(model)},
        "hub": {
            "cookieSecret": secrets["cookie_secret"],
            "config": hub_model.hub_secret_config(model, secrets),
            "services": {name: {"apiToken": token} for name, token in tokens.items()},
        },
    }


def _python_json(value) -> str:
    """A JSON document as a Python expression that reads well in a values diff."""
    text = json.dumps(value, indent=2, sort_keys=True)
    if "'''" in text:
        return f"json.loads({text!r})"
    return "json.loads(r'''\n" + text + "\n''')"


def gateway_extra_config(model: dict, files_dir: str | None = None) -> dict:
    """gateway.extraConfig: the settings as data, then the files of plugins/files/gateway/ verbatim.

    The chart appends the entries to its dask_gateway_config.py in sorted
    key order, all in one namespace: 00-daskhub-settings defines
    DASKHUB_GATEWAY_SETTINGS for the files after it.
    """
    # Scheduler resources come from gateway.backend.scheduler, which the chart
    # sets on KubeClusterConfig with separate requests and limits.
    limits = {
        key: value
        for key, value in gateway_model.gateway_cluster_config(model).items()
        if not key.startswith("scheduler_")
    }
    settings = gateway_model.gateway_settings(model, {"ClusterConfig": limits})
    entries = {
        "00-daskhub-settings": (
            "# The site's gateway settings, data for the daskhub entries after this one\n"
            "# (rendered by daskhub.deploy from the site model).\n"
            "import json\n\n"
            f"DASKHUB_GATEWAY_SETTINGS = {_python_json(settings)}\n"
        )
    }
    for index, name in enumerate(gateway_model.GATEWAY_CONFIG_FILES, start=1):
        key = f"{index:02d}-{name.removesuffix('.py').replace('_', '-')}"
        entries[key] = service_files.read(f"gateway/{name}", files_dir)
    return entries


def _gateway_values(model: dict, versions: dict, composed: bool, files_dir: str | None = None) -> dict:
    gateway = model["gateway"]
    image_name, image_tag = split_image(quantities.worker_image(model))
    auth = {"type": "jupyterhub", "jupyterhub": {}}
    if gateway_model.gateway_scoped_access(versions["dask-gateway"]):
        # Without it the gateway accepts any hub token, not only those of
        # users with access:services!service=dask-gateway.
        auth["jupyterhub"]["jupyterhubServiceName"] = gateway_model.GATEWAY_SERVICE
    if composed:
        # The hub's Service env vars exist in the gateway pod only when the
        # hub release was installed first; an explicit URL does not depend on that.
        auth["jupyterhub"]["apiUrl"] = "http://hub:8081/hub/api"
    worker_pod = {
        "tolerations": list(gateway.get("worker_tolerations") or []) or None,
        "nodeSelector": dict(gateway.get("worker_node_selector") or {}) or None,
        "securityContext": dict(CLUSTER_POD_SECURITY),
    }
    service_spec = {
        "loadBalancerIP": gateway.get("traefik_load_balancer_ip") or None,
        "loadBalancerSourceRanges": list(gateway.get("traefik_load_balancer_source_ranges") or []) or None,
    }
    cores = gateway.get("scheduler_cores") or {}
    memory = gateway.get("scheduler_memory") or {}
    values = {
        "gateway": {
            "prefix": GATEWAY_PREFIX,
            "auth": auth,
            "extraConfig": gateway_extra_config(model, files_dir),
            "backend": {
                "image": {"name": image_name, "tag": image_tag},
                "scheduler": {
                    "extraPodConfig": {"securityContext": dict(CLUSTER_POD_SECURITY)},
                    "cores": {"request": cores.get("request"), "limit": cores.get("limit")},
                    "memory": {
                        "request": _as_quantity(memory.get("request")),
                        "limit": _as_quantity(memory.get("limit")),
                    },
                },
                "worker": {"extraPodConfig": worker_pod},
            },
        },
        "traefik": {
            "service": {
                "type": gateway.get("traefik_service_type") or "ClusterIP",
                "spec": service_spec,
            }
        },
    }
    return _prune(values)


def _gateway_secrets(secrets: dict) -> dict:
    # The same token as jupyterhub.hub.services.dask-gateway.apiToken: set
    # explicitly, the gateway never reads the hub's Secret (which a dry run
    # or `helm template` would regenerate).
    return {"gateway": {"auth": {"jupyterhub": {"apiToken": secrets["dask_gateway_api_token"]}}}}


def _split_extra_values(model: dict) -> dict:
    extra = model.get("extra_values") or {}
    if not isinstance(extra, dict):
        raise ValuesError("daskhub_extra_values: must be a mapping")
    if model["chart_mode"] == "daskhub":
        return {"daskhub": extra}
    unknown = sorted(set(extra) - set(SECTIONS))
    if unknown:
        raise ValuesError(
            "daskhub_extra_values: in composed mode only the jupyterhub: and dask-gateway: sections "
            f"can be given (as for the umbrella chart), not: {', '.join(unknown)}"
        )
    return {section: extra.get(section) or {} for section in SECTIONS}


def load_balancer_warnings(model: dict) -> list[str]:
    gateway = model.get("gateway") or {}
    if gateway.get("traefik_service_type") != "LoadBalancer":
        return []
    ranges = gateway.get("traefik_load_balancer_source_ranges") or []
    if not ranges:
        return [
            "The Dask Gateway LoadBalancer is open to the whole internet (no "
            "daskhub_gateway_traefik_load_balancer_source_ranges); set the networks that need it."
        ]
    opened = [r for r in ranges if ipaddress.ip_network(r, strict=False) in _OPEN_RANGES]
    if opened:
        return [
            f"The Dask Gateway LoadBalancer is open to the whole internet ({', '.join(opened)} in "
            "daskhub_gateway_traefik_load_balancer_source_ranges)."
        ]
    return []


def render(model: dict, secrets: dict, files_dir: str | None = None) -> dict:
    """Render every release of the site; ``files_dir`` is plugins/files/ (found beside module_utils if not given).

    Returns {"releases": [{key, name, chart, version, values, secrets}],
    "network_policies": [NetworkPolicy objects the charts lack, applied
    after the releases], "warnings": [...], "hub_url": str, "gateway_address": str}.
    """
    errors = model_validation.validate(model)
    if errors:
        raise ValuesError("The site model is invalid:\n" + "\n".join(f"  - {e}" for e in errors))
    missing = [name for name in model_secrets.secret_names(model) if not secrets.get(name)]
    if model.get("authenticator") == "generic-oauth" and not secrets.get("oauth_client_secret"):
        missing.append("oauth_client_secret")
    if missing:
        raise ValuesError("daskhub_secrets lacks: " + ", ".join(missing) + " (run the daskhub_secrets role first)")
    versions = chart_versions(model)
    composed = model["chart_mode"] == "composed"
    sections = {
        "jupyterhub": (_jupyterhub_values(model, versions, composed, files_dir), _jupyterhub_secrets(model, secrets)),
        "dask-gateway": (_gateway_values(model, versions, composed, files_dir), _gateway_secrets(secrets)),
    }
    extra = _split_extra_values(model)
    rendered = []
    for release in releases(model):
        if composed:
            values, secret_values = sections[release["key"]]
            values = deep_merge(values, extra[release["key"]])
        else:
            values = {section: sections[section][0] for section in SECTIONS}
            secret_values = {section: sections[section][1] for section in SECTIONS}
            values = deep_merge(values, extra["daskhub"])
        rendered.append({**release, "values": values, "secrets": secret_values})
    # Rendered for Kubernetes whatever the model's target (tests render local sites too).
    url = hub_model.hub_url(dict(model, target="kubernetes"))
    return {
        "releases": rendered,
        "network_policies": network_policies.gateway_policies(model, gateway_fullname(model)),
        # For the Prometheus operator and Grafana (daskhub_monitoring_enabled); no secret in them.
        "monitoring_objects": k8s_monitoring.objects(model, files_dir),
        "warnings": load_balancer_warnings(model) + gateway_api_cleartext_warnings(model),
        "hub_url": url,
        "gateway_address": f"{url}{GATEWAY_PREFIX}" if url else "",
    }
