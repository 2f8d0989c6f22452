"""Helm values and secrets of the Kubernetes target, and their validation.

One site model renders, per Helm release, a `values` dict (nothing secret)
and a `secrets` dict (tokens, the OAuth client secret, the dummy password).
Helm receives both files; it merges them like any two `--values` files.

Two chart modes:
- `daskhub`: the dask/daskhub umbrella chart, one release; the values have a
  `jupyterhub:` and a `dask-gateway:` section for the two subcharts.
- `composed`: the jupyterhub and dask-gateway charts as two releases. We
  render the glue the umbrella adds (service URL, DASK_GATEWAY__* in user
  pods, gateway prefix and auth) ourselves, from the same site_model pieces.

Validation follows `helm install`: the chart defaults are coalesced with the
site values (helm's rules, where a null value deletes a default) and the
result is checked against the chart's JSON schema; an umbrella's subchart
sections are checked against the subchart's schema.

Pure Python (PyYAML and jsonschema only), shared by the helm_values module,
the filters and the unit tests.
"""

from __future__ import annotations

import copy
import difflib
import functools
import ipaddress
import os
import re

import yaml

try:
    from jsonschema import Draft7Validator
except ImportError:  # reported when validation runs, so docs and rendering work without it
    Draft7Validator = None

from ansible_collections.daskhub.deploy.plugins.module_utils import model_validation, network_policies, site_model

GATEWAY_PREFIX = "/services/dask-gateway"
# The published daskhub releases and the subchart versions they pin
# (Chart.yaml dependencies); validation needs the subcharts' schemas.
UMBRELLA_SUBCHARTS = {
    "2024.1.1": {"jupyterhub": "3.2.1", "dask-gateway": "2024.1.0"},
}
SECTIONS = ("jupyterhub", "dask-gateway")
# A LoadBalancer without source ranges, or with one of these, is reachable
# from the whole internet.
_OPEN_RANGES = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
REDACTED = "********"

# Schedulers and workers never run as root, whatever the image's USER says
# (the local target's backends refuse uid 0 where they launch): the
# unprivileged uid the jupyterhub chart gives notebooks (singleuser.uid).
CLUSTER_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 1000}


class ValuesError(ValueError):
    """The rendered values cannot be used; the message says which key and why."""


# --- Generic dict helpers -----------------------------------------------------


def deep_merge(base: dict, override: dict) -> dict:
    """Merge like helm merges several --values files: maps recurse, the rest is replaced."""
    result = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def coalesce(values: dict, defaults: dict) -> dict:
    """Helm's CoalesceValues: the chart defaults under the user's values.

    A user value of null deletes the default (helm's documented way to unset
    a key); a map in one and a scalar in the other keeps the user's value.
    """
    result = copy.deepcopy(values or {})
    for key, default in (defaults or {}).items():
        if key in result:
            if result[key] is None:
                del result[key]
            elif isinstance(result[key], dict) and isinstance(default, dict):
                result[key] = coalesce(result[key], default)
        else:
            result[key] = copy.deepcopy(default)
    return result


def _prune(value):
    """Drop None and empty dicts a renderer produced for unset model fields."""
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items() if item is not None}
        return {key: item for key, item in pruned.items() if item != {}}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


def version_tuple(version) -> tuple:
    return site_model._version_tuple(version)  # one reading of versions for the project


def split_image(image: str) -> tuple[str, str]:
    """("registry:5000/org/img", "tag") from "registry:5000/org/img:tag"."""
    if "@" in image:
        name, _, digest = image.partition("@")
        return name, f"@{digest}"
    head, _, last = image.rpartition("/")
    name, _, tag = last.partition(":")
    return (f"{head}/{name}" if head else name), tag


def _as_quantity(value):
    """Kubernetes quantities as strings, plain numbers left as numbers."""
    if value is None or isinstance(value, (int, float)):
        return value
    return str(value)


# --- Addresses shared by the renderers and the summary ------------------------


def gateway_fullname(model: dict) -> str:
    """The dask-gateway resources' name stem; the same in both chart modes."""
    release = model["release_name"]
    return release if "dask-gateway" in release else f"{release}-dask-gateway"


def gateway_service_url(model: dict) -> str:
    """Where the hub proxies /services/dask-gateway to (the gateway's traefik)."""
    return f"http://traefik-{gateway_fullname(model)}.{model['namespace']}"


def gateway_proxy_address(model: dict) -> str:
    return f"gateway://traefik-{gateway_fullname(model)}.{model['namespace']}:80"


def gateway_internal_address(model: dict) -> str:
    # As the umbrella's 00-add-dask-gateway-values: with HTTPS the public
    # proxy speaks TLS only, so pods use the internal proxy-http service.
    if model.get("https_enabled") and model.get("https_hosts"):
        return f"http://proxy-http:8000{GATEWAY_PREFIX}/"
    return f"http://proxy-public{GATEWAY_PREFIX}"


def chart_versions(model: dict) -> dict:
    """Versions of jupyterhub and dask-gateway the site runs, per chart mode."""
    if model["chart_mode"] == "composed":
        return {
            "jupyterhub": str(model["jupyterhub_chart_version"]),
            "dask-gateway": str(model["dask_gateway_chart_version"]),
        }
    version = str(model["chart_version"])
    if version not in UMBRELLA_SUBCHARTS:
        raise ValuesError(
            f"daskhub_chart_version: {version} is not a daskhub release this project knows the subcharts of "
            f"(known: {', '.join(sorted(UMBRELLA_SUBCHARTS))}); use daskhub_chart_mode: composed for other versions"
        )
    return dict(UMBRELLA_SUBCHARTS[version])


def releases(model: dict) -> list[dict]:
    """The Helm releases of the site, in install order.

    In composed mode the gateway release is named <release>-dask-gateway so
    that its resources get the same names as under the umbrella chart.
    """
    versions = chart_versions(model)
    if model["chart_mode"] == "composed":
        return [
            {
                "key": "jupyterhub",
                "name": model["release_name"],
                "chart": model["jupyterhub_chart_name"],
                "version": versions["jupyterhub"],
                "sections": {"": ("jupyterhub", versions["jupyterhub"])},
                "defaults": None,
            },
            {
                "key": "dask-gateway",
                "name": gateway_fullname(model),
                "chart": model["dask_gateway_chart_name"],
                "version": versions["dask-gateway"],
                "sections": {"": ("dask-gateway", versions["dask-gateway"])},
                "defaults": None,
            },
        ]
    return [
        {
            "key": "daskhub",
            "name": model["release_name"],
            "chart": model["chart_name"],
            "version": str(model["chart_version"]),
            "sections": {section: (section, versions[section]) for section in SECTIONS},
            "defaults": ("daskhub", str(model["chart_version"])),
        }
    ]


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


# --- Network policy --------------------------------------------------------------
# With policies on, the jupyterhub chart lets user pods reach the hub and the
# proxy, and no private address else; the gateway's API pod carries the label
# the hub's ingress admits (hub.jupyter.org/network-access-hub). Two ways are
# added to the chart's egress rules, on the user's path to the gateway's traefik:
# - user pods -> traefik: the notebook's client sends the scheduler traffic
#   there (DASK_GATEWAY__PROXY_ADDRESS);
# - the proxy -> traefik: the hub routes /services/dask-gateway (the HTTP
#   API) to it. The chart's proxy egress to "private IPs" is an ipBlock, which
#   a CNI need not apply to pod addresses; a pod selector always applies.
# The dask-gateway chart has no NetworkPolicy: network_policies renders the
# gateway's own (its pods' ingress), which the release role applies.


def network_policy_additions(model: dict) -> dict:
    """The egress rules added to the chart's policies, by chart section ({} with policies off).

    Named ports only: a port the traefik pod does not declare opens nothing.
    """
    if not model.get("hub_network_policy_enabled"):
        return {"singleuser": {}, "chp": {}}
    instance = gateway_fullname(model)
    return {
        # The HTTP API goes through the proxy; the scheduler's TCP (TLS) straight to traefik.
        "singleuser": {"egress": [network_policies.to_gateway_proxy(instance, network_policies.TRAEFIK_PORTS)]},
        "chp": {"egress": [network_policies.to_gateway_proxy(instance, ("web",))]},
    }


def _jupyterhub_values(model: dict, versions: dict, composed: bool) -> dict:
    singleuser = model["singleuser"]
    gateway_url = gateway_service_url(model)
    extra_env = {str(k): str(v) for k, v in (singleuser.get("extra_env") or {}).items()}
    extra_env.update(site_model.notebook_environment(model, image_from_notebook=True))
    if composed:
        # The umbrella chart sets these in its hub extraConfig; composed, we do.
        extra_env.update(
            site_model.user_environment(
                gateway_internal_address(model), gateway_proxy_address(model), f"{GATEWAY_PREFIX}/"
            )
        )
    volumes, mounts = _volumes(singleuser)
    https = None
    if model.get("https_enabled"):
        https = {
            "enabled": True,
            "type": "letsencrypt",
            "hosts": list(model.get("https_hosts") or []),
            "letsencrypt": {"contactEmail": model.get("https_letsencrypt_contact_email")},
        }
    network_policy = {"enabled": bool(model.get("hub_network_policy_enabled"))}
    additions = network_policy_additions(model)
    roles = site_model.hub_roles(model, versions["dask-gateway"])
    values = {
        "hub": {
            "config": site_model.hub_config(model, versions["dask-gateway"]),
            "services": site_model.hub_services(model, gateway_url),
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
            },
            "extraEnv": extra_env or None,
            "profileList": [_profile(p) for p in singleuser.get("profiles") or []] or None,
            "networkPolicy": dict(network_policy, **additions["singleuser"]),
        },
    }
    return _prune(values)


def _jupyterhub_secrets(model: dict, secrets: dict) -> dict:
    tokens = site_model.service_tokens(model, secrets)
    return {
        "proxy": {"secretToken": secrets["proxy_secret_token"]},
        "hub": {
            "cookieSecret": secrets["cookie_secret"],
            "config": site_model.hub_secret_config(model, secrets),
            "services": {name: {"apiToken": token} for name, token in tokens.items()},
        },
    }


def _cluster_config_source(model: dict) -> str:
    config = site_model.gateway_cluster_config(model)
    lines = [
        "# Cluster limits shared with the local target (site_model.gateway_cluster_config).",
        "# Scheduler resources come from gateway.backend.scheduler, which the chart",
        "# sets on KubeClusterConfig with separate requests and limits.",
    ]
    lines += [
        f"c.ClusterConfig.{key} = {value!r}"
        for key, value in sorted(config.items())
        if not key.startswith("scheduler_")
    ]
    return "\n".join(lines) + "\n"


def _gateway_values(model: dict, versions: dict, composed: bool) -> dict:
    gateway = model["gateway"]
    image_name, image_tag = split_image(site_model.worker_image(model))
    auth = {"type": "jupyterhub", "jupyterhub": {}}
    if site_model.gateway_scoped_access(versions["dask-gateway"]):
        # Without it the gateway accepts any hub token, not only those of
        # users with access:services!service=dask-gateway.
        auth["jupyterhub"]["jupyterhubServiceName"] = site_model.GATEWAY_SERVICE
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
            "extraConfig": {
                "clusterConfig": _cluster_config_source(model),
                "authenticator": site_model.gateway_auth_code(),
                "optionHandler": site_model.gateway_options_handler(model),
            },
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


# --- Moving a site from the daskhub umbrella to composed ------------------------------


def umbrella_move(model: dict, deployed_chart: str, move: bool) -> dict:
    """What to do when the site's release runs the umbrella chart and the model says composed.

    `deployed_chart` is helm's chart of the release named daskhub_release_name
    ("daskhub-2024.1.1", "" when there is none). Returns {"move": bool,
    "blocked": message or "", "plan": [lines]}: a site that did not ask for
    the move is stopped before anything changes (composed is the default for
    new sites, and an existing site must not follow it silently).
    """
    if model["chart_mode"] != "composed" or not str(deployed_chart or "").startswith("daskhub-"):
        return {"move": False, "blocked": "", "plan": []}
    release, namespace = model["release_name"], model["namespace"]
    fullname = gateway_fullname(model)
    hub, gateway = releases(model)
    if not move:
        return {
            "move": False,
            "plan": [],
            "blocked": (
                f"Release {release} in namespace {namespace} runs the umbrella chart {deployed_chart}, but "
                "daskhub_chart_mode is composed (the default for new sites). Nothing was changed. To keep this "
                "site as it is, set daskhub_chart_mode: daskhub in its inventory. To move it to the jupyterhub "
                "and dask-gateway charts, read README.md (\"Moving a site from daskhub to composed\") and run "
                "with -e daskhub_kubernetes_move_from_daskhub=true (first with --check --diff)."
            ),
        }
    ip = (model.get("gateway") or {}).get("traefik_load_balancer_ip")
    lb = (model.get("gateway") or {}).get("traefik_service_type") == "LoadBalancer"
    if not lb:
        address = f"Service traefik-{fullname} has no external IP (not a LoadBalancer)"
    elif ip:
        address = f"Service traefik-{fullname} is made again with the pinned loadBalancerIP {ip}"
    else:
        address = (
            f"Service traefik-{fullname} is made again and gets a NEW external IP: pin the current one with "
            "daskhub_gateway_traefik_load_balancer_ip before the move"
        )
    return {
        "move": True,
        "blocked": "",
        "plan": [
            f"Moving {namespace}/{release} from {deployed_chart} to composed:",
            f"1. helm upgrade {release}: {deployed_chart} -> {hub['chart']} {hub['version']}. The hub, proxy and "
            "their Services stay in this release (proxy-public keeps its IP); the hub database PVC hub-db-dir "
            "stays (same name, helm.sh/resource-policy: keep) and the hub upgrades its schema on start "
            "(sqlite-pvc, with a backup beside it).",
            f"2. The gateway's resources (api-, controller-, traefik-{fullname}, its Secrets and ConfigMaps) "
            f"leave release {release}: helm deletes them in that upgrade.",
            f"3. helm install {gateway['name']}: {gateway['chart']} {gateway['version']} makes them again under "
            f"the same names; {address}.",
            "Running Dask clusters lose their gateway while it is replaced: stop them first "
            "(playbooks/clusters.yml).",
        ],
    }


# --- External gateway access: the API over TLS, the LoadBalancer for schedulers only ------


def gateway_api_cleartext_warnings(model: dict) -> list[str]:
    """Warn when the gateway's LoadBalancer serves its HTTP API without TLS.

    traefik's web entrypoint (port 80 of the LoadBalancer) carries both the
    schedulers' TLS traffic and the gateway's HTTP API in plain HTTP; a
    client pointed at it sends the user's hub token in cleartext.
    """
    gateway = model.get("gateway") or {}
    if gateway.get("traefik_service_type") != "LoadBalancer":
        return []
    hub_url = site_model.hub_url(dict(model, target="kubernetes"))
    if hub_url.startswith("https://"):
        return [
            "The Dask Gateway LoadBalancer also serves the gateway's HTTP API without TLS (plain HTTP on port 80): "
            f"a token sent there crosses the network in cleartext. Clients outside the cluster use {hub_url}"
            f"{GATEWAY_PREFIX} for the API and the LoadBalancer only as proxy_address (the snippet printed at the end)."
        ]
    return [
        "The Dask Gateway LoadBalancer serves the gateway's HTTP API without TLS (plain HTTP on port 80) and the hub "
        "has no HTTPS address: clients outside the cluster send their JupyterHub token in cleartext. Set "
        "daskhub_https_enabled with daskhub_https_hosts (or an HTTPS daskhub_hub_public_url)."
    ]


def external_gateway(hub_url: str, load_balancer_address: str) -> dict:
    """How a client outside the cluster reaches the gateway: {address, proxy_address, code}.

    The HTTP API (the token) goes through the hub's own address, HTTPS on a
    site that has it; the LoadBalancer carries only the schedulers' traffic,
    which is TLS already. Without a LoadBalancer, proxy_address is "" (the
    schedulers are reachable from inside the cluster only).
    """
    hub_url = (hub_url or "").rstrip("/")
    address = f"{hub_url}{GATEWAY_PREFIX}" if hub_url else ""
    proxy_address = f"gateway://{load_balancer_address}:80" if load_balancer_address else ""
    arguments = [repr(address or f"https://<hub>{GATEWAY_PREFIX}")]
    if proxy_address:
        arguments.append(f"proxy_address={proxy_address!r}")
    arguments.append("auth='jupyterhub'")
    return {
        "address": address,
        "proxy_address": proxy_address,
        "code": f"gateway = Gateway({', '.join(arguments)})",
    }


def render(model: dict, secrets: dict) -> dict:
    """Render every release of the site.

    Returns {"releases": [{key, name, chart, version, values, secrets}],
    "network_policies": [NetworkPolicy objects the charts lack, applied
    after the releases], "warnings": [...], "hub_url": str, "gateway_address": str}.
    """
    errors = model_validation.validate(model)
    if errors:
        raise ValuesError("The site model is invalid:\n" + "\n".join(f"  - {e}" for e in errors))
    missing = [name for name in site_model.secret_names(model) if not secrets.get(name)]
    if model.get("authenticator") == "generic-oauth" and not secrets.get("oauth_client_secret"):
        missing.append("oauth_client_secret")
    if missing:
        raise ValuesError("daskhub_secrets lacks: " + ", ".join(missing) + " (run the daskhub_secrets role first)")
    versions = chart_versions(model)
    composed = model["chart_mode"] == "composed"
    sections = {
        "jupyterhub": (_jupyterhub_values(model, versions, composed), _jupyterhub_secrets(model, secrets)),
        "dask-gateway": (_gateway_values(model, versions, composed), _gateway_secrets(secrets)),
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
    url = site_model.hub_url(dict(model, target="kubernetes"))
    return {
        "releases": rendered,
        "network_policies": network_policies.gateway_policies(model, gateway_fullname(model)),
        "warnings": load_balancer_warnings(model) + gateway_api_cleartext_warnings(model),
        "hub_url": url,
        "gateway_address": f"{url}{GATEWAY_PREFIX}" if url else "",
    }


# --- Validation against the chart schemas ---------------------------------------


@functools.lru_cache(maxsize=32)
def _load_yaml_cached(path: str, mtime: float):
    del mtime  # part of the cache key only: an edited file is read again
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def _load_yaml(path: str):
    # The schemas are large; a render validates several releases against them.
    return copy.deepcopy(_load_yaml_cached(path, os.path.getmtime(path)))


def chart_data(chart_data_dir: str, chart: str, version: str) -> tuple[dict, dict | None]:
    """(defaults, schema) of one chart version; schema None when the chart has none."""
    folder = os.path.join(chart_data_dir, f"{chart}-{version}")
    values_path = os.path.join(folder, "values.yaml")
    if not os.path.isfile(values_path):
        raise ValuesError(
            f"no chart data for {chart} {version} in {chart_data_dir}: pin a version this project ships "
            "the schema of, or set validate: false"
        )
    schema_path = os.path.join(folder, "values.schema.yaml")
    schema = _load_yaml(schema_path) if os.path.isfile(schema_path) else None
    return _load_yaml(values_path) or {}, schema


def _path(prefix: list, parts) -> str:
    text = ""
    for part in [*prefix, *parts]:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part)
            text += ("." if text else "") + (name if re.match(r"^[A-Za-z0-9_-]+$", name) else repr(name))
    return text or "(top level)"


def _schema_messages(values: dict, schema: dict, prefix: list, secrets: list[str]) -> list[str]:
    if Draft7Validator is None:
        raise ValuesError("validating Helm values needs the Python package jsonschema on the controller")
    messages = []
    for error in sorted(Draft7Validator(schema).iter_errors(values), key=lambda e: list(map(str, e.absolute_path))):
        parts = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = set((error.schema.get("properties") or {}).keys())
            patterns = list((error.schema.get("patternProperties") or {}).keys())
            for key in sorted(error.instance):
                if key not in known and not any(re.search(p, key) for p in patterns):
                    messages.append(
                        f"{_path(prefix, [*parts, key])}: unknown key (the chart's schema does not allow it)"
                    )
            continue
        message = error.message
        for secret in secrets:
            message = message.replace(secret, REDACTED)
        messages.append(f"{_path(prefix, parts)}: {message}")
    return messages


def validate_release(release: dict, chart_data_dir: str) -> list[str]:
    """Check one rendered release the way `helm install` does; [] when it passes."""
    supplied = deep_merge(release["values"], release["secrets"])
    secret_strings = [s for s in _strings(release["secrets"]) if s]
    if release.get("defaults"):
        umbrella_defaults, _ = chart_data(chart_data_dir, *release["defaults"])
        supplied = coalesce(supplied, umbrella_defaults)
    messages = []
    for section, (chart, version) in release["sections"].items():
        defaults, schema = chart_data(chart_data_dir, chart, version)
        section_values = supplied.get(section) if section else supplied
        if section and section_values is None:
            section_values = {}
        if not isinstance(section_values, dict):
            messages.append(f"{section}: must be a mapping")
            continue
        if section and isinstance(supplied.get("global"), dict):
            # helm copies the parent's globals into every subchart
            section_values = deep_merge({"global": supplied["global"]}, section_values)
        merged = coalesce(section_values, defaults)
        if schema:
            messages += _schema_messages(merged, schema, [section] if section else [], secret_strings)
    return messages


def validate(rendered: dict, chart_data_dir: str) -> None:
    problems = []
    for release in rendered["releases"]:
        for message in validate_release(release, chart_data_dir):
            problems.append(f"{release['chart']} {release['version']} (release {release['name']}): {message}")
    if problems:
        raise ValuesError(
            "The rendered Helm values do not match the chart schemas:\n" + "\n".join(f"  - {p}" for p in problems)
        )


# --- Secrets out of sight --------------------------------------------------------


def _strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def strip_secret_paths(values: dict, secret_values: dict) -> dict:
    """`values` without the keys that `secret_values` sets (e.g. from `helm get values`)."""
    result = copy.deepcopy(values or {})
    for key, secret in (secret_values or {}).items():
        if key not in result:
            continue
        if isinstance(secret, dict) and isinstance(result[key], dict):
            result[key] = strip_secret_paths(result[key], secret)
            if not result[key]:
                del result[key]
        else:
            del result[key]
    return result


def redact(text: str, secrets) -> str:
    """Replace every secret value in text (longest first, so none leaks in part)."""
    values = secrets.values() if isinstance(secrets, dict) else secrets
    for secret in sorted({str(s) for s in values if s and len(str(s)) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


# Strings that a YAML 1.2 reader (helm's) would take for a number, a boolean or
# null; PyYAML writes YAML 1.1 and leaves some of them (1e3, 0o17) unquoted.
_AMBIGUOUS = re.compile(
    r"^([-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(inf|Inf|INF)"
    r"|\.(nan|NaN|NAN)|(?i:true|false|yes|no|on|off|y|n|null|~)|)$"
)


class _Dumper(yaml.SafeDumper):
    """Readable values files: code blocks as literal blocks, ambiguous strings quoted."""


def _represent_str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if _AMBIGUOUS.match(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=1000, allow_unicode=True)


def values_diff(before: dict | None, after: dict, label: str = "values") -> str:
    """Unified diff of two values dicts as YAML ("" when equal)."""
    old = dump_yaml(before or {}).splitlines(keepends=True)
    new = dump_yaml(after or {}).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, f"{label} (deployed)", f"{label} (rendered)"))
