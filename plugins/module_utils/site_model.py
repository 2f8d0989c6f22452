"""The site model: validation and the pieces both targets render from.

The Kubernetes values (helm_values.py) and the local target's config files
both call these functions, so a site gets the same hub configuration, hub
services and roles, user environment and Dask Gateway options handler
whichever target it runs on.

Pure Python, no Ansible imports at module level, so filters, modules and
unit tests can share it.
"""

from __future__ import annotations

import ipaddress
import re
import textwrap

TARGETS = ("local", "kubernetes")
CHART_MODES = ("daskhub", "composed")
AUTHENTICATORS = {
    # model name -> (entry point name for JupyterHub.authenticator_class, traitlets class)
    "dummy": ("dummy", "DummyAuthenticator"),
    "generic-oauth": ("generic-oauth", "GenericOAuthenticator"),
}
GATEWAY_SERVICE = "dask-gateway"
USER_SYNC_SERVICE = "user-sync"
# playbooks/verify.yml acts as one user through this service, which may only
# manage that user's tokens and server.
VERIFY_SERVICE = "daskhub-verify"
# The hub user it acts as unless daskhub_verify_user names another: a user of
# its own, never an admin, so what runs in its server has no more rights than
# one ordinary user's server, and no real user's files or servers are touched.
DEFAULT_VERIFY_USER = "daskhub-verify-user"
RESERVED_SERVICES = (GATEWAY_SERVICE, USER_SYNC_SERVICE, VERIFY_SERVICE)
IMAGE_TAG_ERROR = "When specifying an image you must also provide a tag"
# dask-gateway 2026.3.0 is the first release whose JupyterHub authenticator
# can require the access:services scope (jupyterhub_service_name).
GATEWAY_SCOPED_ACCESS_VERSION = (2026, 3, 0)

_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([A-Za-z]*)\s*$")
_UNITS = {
    "": 1,
    "k": 10**3,
    "K": 2**10,
    "M": 2**20,
    "G": 2**30,
    "T": 2**40,
    "P": 2**50,
    "E": 2**60,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 10**-3,
}
# Kubernetes uses decimal suffixes for k/M/G/T; dask-gateway and JupyterHub
# read K/M/G/T as binary. Comparisons (request <= limit) only need one
# consistent reading, and binary is what the services themselves apply.
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$")


class ModelError(ValueError):
    """The site model breaks a rule; the message lists every problem."""


def parse_quantity(value) -> float:
    """Return a memory or CPU quantity ("2G", "32Gi", "500m", 4) as a number."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value))
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a quantity: {value!r} (use a number with an optional unit such as 2G, 512Mi, 500m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def image_has_tag(image: str) -> bool:
    """True when an image reference names a tag or a digest.

    The last path component carries the tag: "registry:5000/img" has a port,
    not a tag.
    """
    if not isinstance(image, str) or not image.strip():
        return False
    if "@sha256:" in image:
        return True
    last = image.strip().rsplit("/", 1)[-1]
    name, sep, tag = last.partition(":")
    return bool(name and sep and tag)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value):
    """A number from a number or a numeric string (`-e key=900` arrives as a string); else None."""
    if _is_number(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number.is_integer() and "." not in value else number
    return None


def _check_range(errors, variable, spec, *, minimum_floor=None, integer=False):
    if not isinstance(spec, dict):
        errors.append(f"{variable}: must be a mapping with default, min and max")
        return
    missing = [key for key in ("default", "min", "max") if key not in spec or spec[key] is None]
    if missing:
        errors.append(f"{variable}: missing {', '.join(missing)}")
        return
    values = {key: spec[key] for key in ("default", "min", "max")}
    bad = [key for key, value in values.items() if not _is_number(value)]
    if bad:
        errors.append(f"{variable}: {', '.join(bad)} must be numbers")
        return
    if integer:
        not_int = [key for key, value in values.items() if float(value) != int(value)]
        if not_int:
            errors.append(f"{variable}: {', '.join(not_int)} must be whole numbers")
    if not values["min"] <= values["default"] <= values["max"]:
        errors.append(
            f"{variable}: needs min <= default <= max, got min={values['min']} "
            f"default={values['default']} max={values['max']}"
        )
    if minimum_floor is not None and values["min"] < minimum_floor:
        errors.append(f"{variable}.min: must be at least {minimum_floor}, got {values['min']}")


def _check_request_limit(errors, variable, request, limit, request_name="request", limit_name="limit"):
    parsed = {}
    for name, value in ((request_name, request), (limit_name, limit)):
        if value is None:
            continue
        try:
            parsed[name] = parse_quantity(value)
        except ValueError as err:
            errors.append(f"{variable}.{name}: {err}")
    if len(parsed) == 2 and parsed[request_name] > parsed[limit_name]:
        errors.append(f"{variable}: {request_name} {request} is more than {limit_name} {limit}")


def _names(value) -> list[str]:
    return [str(item) for item in (value or [])]


def _validate_users(model, errors):
    allowed = set(_names(model.get("users"))) | set(_names(model.get("admin_users")))
    blocked = set(_names(model.get("blocked_users")))
    both = sorted(allowed & blocked)
    if both:
        errors.append(
            "daskhub_blocked_users: these names are also in daskhub_users or daskhub_admin_users: " + ", ".join(both)
        )


def _validate_verify_user(model, errors):
    user = verify_user(model)
    if user in _names(model.get("admin_users")):
        errors.append(
            f"daskhub_verify_user: {user} is in daskhub_admin_users; verify runs code in this user's server, "
            "so it must be an ordinary user (leave it empty for the dedicated daskhub-verify-user)"
        )
    if user in _names(model.get("blocked_users")):
        errors.append(f"daskhub_verify_user: {user} is in daskhub_blocked_users, so verify could not start its server")


def _validate_auth(model, errors):
    authenticator = model.get("authenticator")
    if authenticator not in AUTHENTICATORS:
        errors.append(f"daskhub_authenticator: must be one of {', '.join(AUTHENTICATORS)}, got {authenticator!r}")
        return
    if authenticator == "generic-oauth":
        oauth = model.get("oauth") or {}
        required = ("client_id", "authorize_url", "token_url", "userdata_url", "callback_url", "username_key")
        for key in required:
            if not oauth.get(key):
                errors.append(f"daskhub_oauth_{key}: required when daskhub_authenticator is generic-oauth")
        if not oauth.get("client_secret_set"):
            errors.append("daskhub_oauth_client_secret: required when daskhub_authenticator is generic-oauth")
        for key in ("authorize_url", "token_url", "userdata_url", "callback_url"):
            url = oauth.get(key) or ""
            if url and not url.startswith(("https://", "http://")):
                errors.append(f"daskhub_oauth_{key}: must be an http(s) URL, got {url!r}")


def _validate_https(model, errors):
    if model.get("https_enabled"):
        if not model.get("https_hosts"):
            errors.append("daskhub_https_hosts: at least one host name is required when daskhub_https_enabled")
        if not model.get("https_letsencrypt_contact_email"):
            errors.append(
                "daskhub_https_letsencrypt_contact_email: required when daskhub_https_enabled (Let's Encrypt)"
            )


def _validate_ip(errors, variable, value):
    if value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            errors.append(f"{variable}: not an IP address: {value!r}")


def _validate_singleuser(model, errors):
    singleuser = model.get("singleuser") or {}
    if not singleuser.get("image_name"):
        errors.append("daskhub_singleuser_image_name: required")
    if not str(singleuser.get("image_tag") or ""):
        errors.append(f"daskhub_singleuser_image_tag: required ({IMAGE_TAG_ERROR})")
    _check_request_limit(
        errors,
        "daskhub_singleuser_cpu",
        singleuser.get("cpu_guarantee"),
        singleuser.get("cpu_limit"),
        "guarantee",
        "limit",
    )
    _check_request_limit(
        errors,
        "daskhub_singleuser_memory",
        singleuser.get("memory_guarantee"),
        singleuser.get("memory_limit"),
        "guarantee",
        "limit",
    )
    profiles = singleuser.get("profiles") or []
    defaults = 0
    seen = set()
    for index, profile in enumerate(profiles):
        where = f"daskhub_singleuser_profiles[{index}]"
        name = profile.get("display_name")
        if not name:
            errors.append(f"{where}.display_name: required")
        elif name in seen:
            errors.append(f"{where}.display_name: {name!r} is used by another profile")
        seen.add(name)
        defaults += bool(profile.get("default"))
        image = profile.get("image")
        if image is not None and not image_has_tag(image):
            errors.append(f"{where}.image: {image!r}: {IMAGE_TAG_ERROR}")
        _check_request_limit(
            errors, f"{where}.cpu", profile.get("cpu_guarantee"), profile.get("cpu_limit"), "guarantee", "limit"
        )
        _check_request_limit(
            errors, f"{where}.mem", profile.get("mem_guarantee"), profile.get("mem_limit"), "guarantee", "limit"
        )
        limits = profile.get("extra_resource_limits") or {}
        for resource, guarantee in (profile.get("extra_resource_guarantees") or {}).items():
            if resource in limits:
                _check_request_limit(
                    errors, f"{where}.extra_resource[{resource}]", guarantee, limits[resource], "guarantee", "limit"
                )
    if defaults > 1:
        errors.append(f"daskhub_singleuser_profiles: {defaults} profiles are marked default, at most one may be")
    for index, volume in enumerate(singleuser.get("extra_volumes") or []):
        where = f"daskhub_singleuser_extra_volumes[{index}]"
        for key in ("name", "host_path", "mount_path"):
            if not volume.get(key):
                errors.append(f"{where}.{key}: required")
        propagation = volume.get("mount_propagation")
        if propagation not in (None, "", "None", "HostToContainer", "Bidirectional"):
            errors.append(f"{where}.mount_propagation: must be None, HostToContainer or Bidirectional")


def _validate_gateway(model, errors):
    gateway = model.get("gateway") or {}
    _check_range(errors, "daskhub_gateway_worker_cores", gateway.get("worker_cores"), minimum_floor=1, integer=True)
    memory = gateway.get("worker_memory")
    _check_range(errors, "daskhub_gateway_worker_memory", memory)
    if isinstance(memory, dict) and _is_number(memory.get("min")) and memory["min"] <= 0:
        errors.append("daskhub_gateway_worker_memory.min: must be more than 0 GiB")
    gpus = gateway.get("worker_gpus") or {}
    if gpus.get("enabled"):
        _check_range(errors, "daskhub_gateway_worker_gpus", gpus, minimum_floor=0, integer=True)
        if not gpus.get("resource"):
            errors.append("daskhub_gateway_worker_gpus.resource: required when GPUs are enabled")
    image = worker_image(model)
    if not image_has_tag(image):
        errors.append(f"daskhub_gateway_worker_image: {image!r}: {IMAGE_TAG_ERROR}")
    cores = gateway.get("scheduler_cores") or {}
    _check_request_limit(errors, "daskhub_gateway_scheduler_cores", cores.get("request"), cores.get("limit"))
    memory = gateway.get("scheduler_memory") or {}
    _check_request_limit(errors, "daskhub_gateway_scheduler_memory", memory.get("request"), memory.get("limit"))
    timeout = _as_number(gateway.get("idle_timeout"))
    if timeout is None or timeout < 0:
        errors.append(
            f"daskhub_gateway_idle_timeout: must be a number of seconds >= 0, got {gateway.get('idle_timeout')!r}"
        )
    for key in ("cluster_max_cores", "cluster_max_workers"):
        value = gateway.get(key)
        number = _as_number(value)
        if value is not None and (number is None or number <= 0):
            errors.append(f"daskhub_gateway_{key}: must be a positive number or null, got {value!r}")
    max_memory = gateway.get("cluster_max_memory")
    if max_memory is not None:
        try:
            if parse_quantity(max_memory) <= 0:
                errors.append("daskhub_gateway_cluster_max_memory: must be positive")
        except ValueError as err:
            errors.append(f"daskhub_gateway_cluster_max_memory: {err}")
    cores_spec = gateway.get("worker_cores") or {}
    max_cores = _as_number(gateway.get("cluster_max_cores"))
    if _is_number(max_cores) and _is_number(cores_spec.get("default")) and cores_spec["default"] > max_cores:
        errors.append(
            f"daskhub_gateway_cluster_max_cores: {max_cores} is less than one default worker "
            f"({cores_spec['default']} cores)"
        )
    _validate_ip(errors, "daskhub_gateway_traefik_load_balancer_ip", gateway.get("traefik_load_balancer_ip"))
    for cidr in gateway.get("traefik_load_balancer_source_ranges") or []:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            errors.append(f"daskhub_gateway_traefik_load_balancer_source_ranges: not a CIDR range: {cidr!r}")


def _validate_services(model, errors):
    for name in model.get("hub_extra_services") or {}:
        if name in RESERVED_SERVICES:
            errors.append(f"daskhub_hub_extra_services: {name!r} is defined by the project already")
        elif not _SERVICE_NAME.match(str(name)):
            errors.append(
                f"daskhub_hub_extra_services: {name!r} is not a valid service name (lowercase letters, digits, -)"
            )


def validate(model: dict) -> list[str]:
    """Return every cross-field problem of the model, one readable line each."""
    errors: list[str] = []
    if model.get("target") not in TARGETS:
        errors.append(f"daskhub_target: must be one of {', '.join(TARGETS)}, got {model.get('target')!r}")
    if model.get("chart_mode") not in CHART_MODES:
        errors.append(f"daskhub_chart_mode: must be one of {', '.join(CHART_MODES)}, got {model.get('chart_mode')!r}")
    _validate_users(model, errors)
    _validate_verify_user(model, errors)
    _validate_auth(model, errors)
    _validate_https(model, errors)
    _validate_ip(errors, "daskhub_proxy_load_balancer_ip", model.get("proxy_load_balancer_ip"))
    _validate_singleuser(model, errors)
    _validate_gateway(model, errors)
    _validate_services(model, errors)
    return errors


def assert_valid(model: dict) -> dict:
    errors = validate(model)
    if errors:
        raise ModelError("The site model is invalid:\n" + "\n".join(f"  - {e}" for e in errors))
    return model


# --- Secrets -----------------------------------------------------------------


def service_secret_name(service: str) -> str:
    return f"service_{service.replace('-', '_')}_api_token"


def allowed_users(model: dict) -> list[str]:
    """Every user the site lets in by name: daskhub_users and daskhub_admin_users, sorted."""
    return sorted(set(_names(model.get("users"))) | set(_names(model.get("admin_users"))))


def verify_user(model: dict) -> str:
    """The user verify.yml acts as: daskhub_verify_user, else the dedicated DEFAULT_VERIFY_USER."""
    return str(model.get("verify_user") or DEFAULT_VERIFY_USER)


def service_token_secrets(model: dict) -> dict:
    """{hub service name: name of the secret holding its token}."""
    mapping = {GATEWAY_SERVICE: "dask_gateway_api_token", USER_SYNC_SERVICE: "user_sync_api_token"}
    if verify_user(model):
        mapping[VERIFY_SERVICE] = service_secret_name(VERIFY_SERVICE)
    for name in sorted(model.get("hub_extra_services") or {}):
        mapping[name] = service_secret_name(name)
    return mapping


def secret_names(model: dict) -> list[str]:
    """Names of the secrets this site needs.

    All are generated into the store, except the OAuth client secret, which
    the operator provides (validate() insists on it for generic-oauth); the
    secrets role passes it through without storing it.
    """
    names = ["proxy_secret_token", "cookie_secret"]
    if model.get("authenticator") == "dummy":
        names.append("dummy_password")
    if model.get("authenticator") == "generic-oauth":
        names.append("oauth_client_secret")
    names.extend(service_token_secrets(model).values())
    return names


# --- The hub -----------------------------------------------------------------


def singleuser_image(model: dict) -> str:
    singleuser = model.get("singleuser") or {}
    return f"{singleuser.get('image_name')}:{singleuser.get('image_tag')}"


def worker_image(model: dict) -> str:
    return (model.get("gateway") or {}).get("worker_image") or singleuser_image(model)


def hub_config(model: dict, gateway_version: str) -> dict:
    """JupyterHub traitlets config without secrets (z2jh `hub.config`)."""
    entry_point, auth_class = AUTHENTICATORS[model["authenticator"]]
    # The verify user is a service account, not in allowed_users(): it may log in and spawn too.
    users = sorted(set(allowed_users(model)) | {verify_user(model)})
    authenticator = {
        "admin_users": sorted(_names(model.get("admin_users"))),
        "allowed_users": users,
        "blocked_users": sorted(_names(model.get("blocked_users"))),
        # JupyterHub 5 otherwise locks out users that user-sync added
        # through the API but that are not in allowed_users.
        "allow_existing_users": True,
        "allow_all": bool(model.get("allow_all_users")),
    }
    config = {
        "JupyterHub": {"authenticator_class": entry_point},
        "Authenticator": authenticator,
        "Spawner": {"server_token_scopes": server_token_scopes(gateway_version)},
    }
    specific = {}
    if model["authenticator"] == "generic-oauth":
        oauth = model["oauth"]
        specific = {
            "client_id": oauth["client_id"],
            "authorize_url": oauth["authorize_url"],
            "token_url": oauth["token_url"],
            "userdata_url": oauth["userdata_url"],
            "oauth_callback_url": oauth["callback_url"],
            # oauthenticator 16 renamed username_key to username_claim.
            "username_claim": oauth["username_key"],
            "scope": list(oauth.get("scopes") or []),
        }
        if oauth.get("login_service"):
            specific["login_service"] = oauth["login_service"]
    specific.update(model.get("authenticator_extra_config") or {})
    if specific:
        config[auth_class] = specific
    return config


def hub_secret_config(model: dict, secrets: dict) -> dict:
    """The secret part of the hub's traitlets config (goes to secret files only)."""
    if model["authenticator"] == "dummy":
        return {"DummyAuthenticator": {"password": secrets["dummy_password"]}}
    if model["authenticator"] == "generic-oauth":
        return {"GenericOAuthenticator": {"client_secret": secrets["oauth_client_secret"]}}
    return {}


def hub_url(model: dict, local_port: int = 8000) -> str:
    """The hub's public URL; empty when only the cluster can tell (a LoadBalancer IP not assigned yet)."""
    if model.get("hub_public_url"):
        return str(model["hub_public_url"]).rstrip("/")
    if model.get("target") == "local":
        return f"http://127.0.0.1:{int(local_port)}"
    if model.get("https_enabled") and model.get("https_hosts"):
        return f"https://{model['https_hosts'][0]}"
    if model.get("proxy_load_balancer_ip"):
        return f"http://{model['proxy_load_balancer_ip']}"
    return ""


def manages_admins(model: dict) -> bool:
    """Whether user-sync changes admin flags (daskhub_user_sync_manage_admins)."""
    value = model.get("user_sync_manage_admins", bool(model.get("admin_users")))
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


def hub_services(model: dict, gateway_url: str | None) -> dict:
    """Hub services (name -> settings), without their tokens."""
    services = {
        GATEWAY_SERVICE: {"display": False},
        # Only a hub admin may grant or revoke admin; user-sync gets that
        # role only when the site manages admins.
        USER_SYNC_SERVICE: {"admin": manages_admins(model)},
    }
    if gateway_url:
        services[GATEWAY_SERVICE]["url"] = gateway_url
    if verify_user(model):
        services[VERIFY_SERVICE] = {"display": False}
    for name, extra in sorted((model.get("hub_extra_services") or {}).items()):
        settings = {key: value for key, value in (extra or {}).items() if key in ("url", "display", "admin")}
        services[name] = settings
    return services


def service_tokens(model: dict, secrets: dict) -> dict:
    return {service: secrets[secret] for service, secret in service_token_secrets(model).items()}


def _version_tuple(version: str) -> tuple:
    parts = []
    for part in str(version).split("."):
        digits = re.match(r"\d+", part)
        parts.append(int(digits.group()) if digits else 0)
    return tuple(parts)


def gateway_scoped_access(gateway_version: str) -> bool:
    return _version_tuple(gateway_version) >= GATEWAY_SCOPED_ACCESS_VERSION


USER_SYNC_SCOPES = ["list:users", "read:users", "admin:users"]
# JupyterHub's own `server` role (the same in 4.0 to 5.5): what
# jupyterhub-singleuser needs to let its user in and to report activity.
SERVER_TOKEN_BASE_SCOPES = ["access:servers!server", "users:activity!user"]


def gateway_access_scope() -> str:
    return f"access:services!service={GATEWAY_SERVICE}"


def server_token_scopes(gateway_version: str) -> list[str]:
    """Scopes of a notebook server's own JUPYTERHUB_API_TOKEN (Spawner.server_token_scopes).

    GatewayCluster() in a notebook authenticates with that token. A gateway
    that requires the access:services scope rejects the default server token
    (401), so the scope is requested here, and nothing more; JupyterHub grants
    only what the user holds (hub_roles gives every user this scope).
    """
    scopes = list(SERVER_TOKEN_BASE_SCOPES)
    if gateway_scoped_access(gateway_version):
        scopes.append(gateway_access_scope())
    return scopes


def hub_roles(model: dict, gateway_version: str) -> list[dict]:
    """JupyterHub roles: the user-sync service's, and gateway access for users."""
    roles = [
        {
            "name": USER_SYNC_SERVICE,
            "description": "Add and remove hub users from the site's user sources",
            "scopes": list(USER_SYNC_SCOPES) + (["list:groups", "admin:groups"] if model.get("manage_groups") else []),
            "services": [USER_SYNC_SERVICE],
        }
    ]
    if gateway_scoped_access(gateway_version):
        # The gateway then only accepts tokens with this scope; without it
        # any hub token could create clusters.
        roles.append(
            {
                "name": "user",
                "scopes": ["self", gateway_access_scope()],
            }
        )
    user = verify_user(model)
    if user:
        roles.append(
            {
                "name": VERIFY_SERVICE,
                "description": f"playbooks/verify.yml: the server of {user}, nothing else",
                # Start, stop and open that one server, as its user's browser
                # does; no token minting (a service cannot grant itself more).
                "scopes": [f"servers!user={user}", f"access:servers!user={user}", f"read:users:name!user={user}"],
                "services": [VERIFY_SERVICE],
            }
        )
    for name, extra in sorted((model.get("hub_extra_services") or {}).items()):
        scopes = list((extra or {}).get("scopes") or [])
        if scopes:
            roles.append({"name": f"service-{name}", "scopes": scopes, "services": [name]})
    return roles


def user_environment(address: str, proxy_address: str, public_address: str) -> dict:
    """What single-user servers need so that GatewayCluster() works without arguments."""
    return {
        "DASK_GATEWAY__ADDRESS": address,
        "DASK_GATEWAY__PROXY_ADDRESS": proxy_address,
        "DASK_GATEWAY__PUBLIC_ADDRESS": public_address,
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }


# dask-labextension reads labextension.factory from dask config: without it
# the Dask panel's +NEW starts a LocalCluster inside the user's server.
LABEXTENSION_ENVIRONMENT = {
    "DASK_LABEXTENSION__FACTORY__MODULE": "dask_gateway",
    "DASK_LABEXTENSION__FACTORY__CLASS": "GatewayCluster",
}
# KubeSpawner sets JUPYTER_IMAGE_SPEC to the image the user's server runs
# (a profile's image included); the dask-gateway client fills in
# "{VARIABLE}" from the environment, and the options handler still checks it.
NOTEBOOK_IMAGE_OPTION = {"DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE": "{JUPYTER_IMAGE_SPEC}"}


def notebook_environment(model: dict, image_from_notebook: bool) -> dict:
    """What every target adds to user servers beyond the gateway addresses.

    ``image_from_notebook``: workers default to the notebook's own image
    (Kubernetes) unless the site names daskhub_gateway_worker_image; the local
    target runs workers in the notebooks' venv and has no images.
    """
    environment = dict(LABEXTENSION_ENVIRONMENT)
    if image_from_notebook and not (model.get("gateway") or {}).get("worker_image"):
        environment.update(NOTEBOOK_IMAGE_OPTION)
    return environment


# --- The gateway -------------------------------------------------------------


def gateway_cluster_config(model: dict) -> dict:
    """ClusterConfig traits both targets set (c.ClusterConfig.<trait>)."""
    gateway = model["gateway"]
    config = {
        "idle_timeout": float(gateway["idle_timeout"]),
        "scheduler_cores": float(gateway["scheduler_cores"]["request"]),
        "scheduler_memory": int(parse_quantity(gateway["scheduler_memory"]["request"])),
    }
    for key in ("cluster_max_cores", "cluster_max_workers"):
        if gateway.get(key) is not None:
            config[key] = _as_number(gateway[key])
    if gateway.get("cluster_max_memory") is not None:
        config["cluster_max_memory"] = int(parse_quantity(gateway["cluster_max_memory"]))
    return config


_HANDLER_TEMPLATE = """\
# Cluster options users may choose, rendered by daskhub.deploy from the site
# model. The same code runs on the kubernetes and the local target.
from dask_gateway_server.options import Float as _DaskhubFloat
from dask_gateway_server.options import Integer as _DaskhubInteger
from dask_gateway_server.options import Options as _DaskhubOptions
from dask_gateway_server.options import String as _DaskhubString
from traitlets.utils.importstring import import_item as _daskhub_import_item

_DASKHUB_GPUS = {gpus!r}


def _daskhub_image_has_tag(image):
    if "@sha256:" in image:
        return True
    name, sep, tag = image.rsplit("/", 1)[-1].partition(":")
    return bool(name and sep and tag)


def _daskhub_cluster_config_traits():
    # The local backend's ClusterConfig has no image or container settings;
    # drop what the running backend does not know instead of warning.
    backend = c.DaskGateway.backend_class
    if isinstance(backend, str):
        backend = _daskhub_import_item(backend)
    if not isinstance(backend, type):
        return None
    config_class = backend.class_traits()["cluster_config_class"].default()
    if isinstance(config_class, str):
        config_class = _daskhub_import_item(config_class)
    return set(config_class.class_trait_names(config=True))


def _daskhub_options_handler(options, user):
    image = options.image.strip()
    if not _daskhub_image_has_tag(image):
        raise ValueError("{tag_error}")
    memory = int(options.worker_memory * 2**30)
    overrides = {{
        "worker_cores": options.worker_cores,
        "worker_cores_limit": options.worker_cores,
        "worker_memory": memory,
        "worker_memory_limit": memory,
        "image": image,
    }}
    if _DASKHUB_GPUS and options.num_gpus:
        resources = {{_DASKHUB_GPUS: options.num_gpus}}
        overrides["worker_extra_container_config"] = {{
            "resources": {{"limits": resources, "requests": resources}},
        }}
    known = _daskhub_cluster_config_traits()
    if known is None:
        return overrides
    return {{key: value for key, value in overrides.items() if key in known}}


c.Backend.cluster_options = _DaskhubOptions(
{fields}
    handler=_daskhub_options_handler,
)
"""


def gateway_options_handler(model: dict) -> str:
    """Python source defining c.Backend.cluster_options for both targets."""
    gateway = model["gateway"]
    cores = gateway["worker_cores"]
    memory = gateway["worker_memory"]
    gpus = gateway.get("worker_gpus") or {}
    fields = [
        f'_DaskhubInteger("worker_cores", default={int(cores["default"])}, min={int(cores["min"])}, '
        f'max={int(cores["max"])}, label="Worker cores"),',
        f'_DaskhubFloat("worker_memory", default={float(memory["default"])}, min={float(memory["min"])}, '
        f'max={float(memory["max"])}, label="Worker memory (GiB)"),',
        f'_DaskhubString("image", default={worker_image(model)!r}, label="Image"),',
    ]
    if gpus.get("enabled"):
        fields.append(
            f'_DaskhubInteger("num_gpus", default={int(gpus["default"])}, min={int(gpus["min"])}, '
            f'max={int(gpus["max"])}, label="GPUs per worker"),'
        )
    return _HANDLER_TEMPLATE.format(
        gpus=gpus.get("resource") if gpus.get("enabled") else "",
        tag_error=IMAGE_TAG_ERROR,
        fields=textwrap.indent("\n".join(fields), "    "),
    )


# JupyterHub answers 403 to a token it does not know, and dask-gateway-server
# (2024.1.0 and 2026.3.0) turns that into a 500; users with a wrong or
# expired token must get 401. Both targets load this before the options handler.
_GATEWAY_AUTH_CODE = """\
from aiohttp import web as _daskhub_web
from dask_gateway_server.auth import JupyterHubAuthenticator as _DaskhubJupyterHubAuthenticator
from dask_gateway_server.auth import unauthorized as _daskhub_unauthorized


class DaskhubJupyterHubAuthenticator(_DaskhubJupyterHubAuthenticator):
    \"\"\"JupyterHubAuthenticator that answers 401, not 500, to a token the hub rejects.\"\"\"

    async def authenticate(self, request):
        try:
            return await super().authenticate(request)
        except _daskhub_web.HTTPInternalServerError as err:
            if err.reason == "Permission failure verifying user's JupyterHub API token":
                raise _daskhub_unauthorized("jupyterhub") from None
            raise


c.DaskGateway.authenticator_class = DaskhubJupyterHubAuthenticator

"""


def gateway_auth_code() -> str:
    """Python source replacing the gateway's JupyterHub authenticator (both targets)."""
    return _GATEWAY_AUTH_CODE
