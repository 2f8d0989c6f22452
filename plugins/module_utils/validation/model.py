"""The rules a site model must follow, checked before anything changes.

Three kinds of problem, all reported together in one message, each line
naming the variable as the inventory spells it (``variable_of``: the model
field's variable, from roles/daskhub_model/meta/variables.yml):

- input (validation/inputs.py): every ``daskhub_*`` variable of the
  inventory is one this project knows (a misspelling names the closest known
  one), and has the type the model role's ``meta/argument_specs.yml`` declares;
- names (validation/names.py): users, admins and blocked users are names
  JupyterHub keeps as written (and, with system accounts, valid account names);
- cross-field rules (here): ranges, request <= limit, image tags, OAuth fields.

Pure Python, no Ansible imports, like the model/ pieces it checks.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping

from ansible_collections.daskhub.deploy.plugins.module_utils.model import cull as cull_model
from ansible_collections.daskhub.deploy.plugins.module_utils.model import user_data
from ansible_collections.daskhub.deploy.plugins.module_utils.model.hub import (
    AUTHENTICATORS,
    RESERVED_SERVICES,
    _names,
    verify_user,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.model.monitoring import monitoring_errors
from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import (
    IMAGE_TAG_ERROR,
    _as_number,
    _is_number,
    image_has_tag,
    parse_quantity,
    worker_image,
)
from ansible_collections.daskhub.deploy.plugins.module_utils.model.variables import variable_of
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import oauth as oauth_rules
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.inputs import input_errors
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.names import validate_names
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.public_site import public_site_errors

TARGETS = ("local", "kubernetes")
CHART_MODES = ("daskhub", "composed")
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$|^[a-z0-9]$")


class ModelError(ValueError):
    """The site model breaks a rule; the message lists every problem."""


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
    """``request`` <= ``limit``, the keys ``request_name`` and ``limit_name`` of ``variable``."""
    _check_at_most(
        errors,
        (f"{variable}.{request_name}", request),
        (f"{variable}.{limit_name}", limit),
        f"{variable}: {request_name} {request} is more than {limit_name} {limit}",
    )


def _check_at_most(errors, request, limit, problem):
    """Two quantities, each (where it is set, value): ``problem`` when the first is more than the second."""
    parsed = []
    for where, value in (request, limit):
        if value is None:
            continue
        try:
            parsed.append(parse_quantity(value))
        except ValueError as err:
            errors.append(f"{where}: {err}")
    if len(parsed) == 2 and parsed[0] > parsed[1]:
        errors.append(problem)


def _validate_users(model, errors):
    allowed = set(_names(model.get("users"))) | set(_names(model.get("admin_users")))
    blocked = set(_names(model.get("blocked_users")))
    both = sorted(allowed & blocked)
    if both:
        errors.append(
            f"{variable_of('blocked_users')}: these names are also in {variable_of('users')} or "
            f"{variable_of('admin_users')}: " + ", ".join(both)
        )


def _validate_verify_user(model, errors):
    user = verify_user(model)
    where, admins, blocked = (variable_of(field) for field in ("verify_user", "admin_users", "blocked_users"))
    if user in _names(model.get("admin_users")):
        errors.append(
            f"{where}: {user} is in {admins}; verify opens this user's server, "
            "so it must be an ordinary user (leave it empty for the dedicated daskhub-verify-user)"
        )
    if user in _names(model.get("blocked_users")):
        errors.append(f"{where}: {user} is in {blocked}, so verify could not start its server")


# The dummy authenticator's one password opens every allowed account.
DUMMY_PASSWORD_MIN = 16


def _validate_auth(model, errors, local_hub_port=None):
    authenticator = model.get("authenticator")
    if authenticator not in AUTHENTICATORS:
        errors.append(
            f"{variable_of('authenticator')}: must be one of {', '.join(AUTHENTICATORS)}, got {authenticator!r}"
        )
        return
    length = int(model.get("dummy_password_length") or 0)
    if model.get("dummy_password_set") in (True, "True", "true") and length < DUMMY_PASSWORD_MIN:
        errors.append(
            f"{variable_of('dummy_password_length')}: {length} characters without the spaces around them; the "
            f"shared password needs at least {DUMMY_PASSWORD_MIN} (leave it empty and the play generates one)"
        )
    if authenticator == "generic-oauth":
        oauth = model.get("oauth") or {}
        when = f"required when {variable_of('authenticator')} is generic-oauth"
        required = ("client_id", "authorize_url", "token_url", "userdata_url", "callback_url", "username_key")
        for key in (*required, "client_secret_set"):
            if not oauth.get(key):
                errors.append(f"{variable_of('oauth.' + key)}: {when}")
        for key in ("authorize_url", "token_url", "userdata_url", "callback_url"):
            url = oauth.get(key) or ""
            if url and not url.startswith(("https://", "http://")):
                errors.append(f"{variable_of('oauth.' + key)}: must be an http(s) URL, got {url!r}")
        if oauth.get("client_secret_placeholder"):
            errors.append(
                f"{variable_of('oauth.client_secret_placeholder')}: still a placeholder; set the client secret "
                "the identity provider issued for this hub (keep it in Ansible Vault)"
            )
        oauth_rules.validate_callback(model, oauth, errors, local_hub_port)
    oauth_rules.validate_oauth_groups(model, errors)


def _validate_https(model, errors):
    if not model.get("https_enabled"):
        return
    enabled = variable_of("https_enabled")
    if not model.get("https_hosts"):
        errors.append(f"{variable_of('https_hosts')}: at least one host name is required when {enabled}")
    kind = model.get("https_type") or "letsencrypt"
    if kind == "manual":
        for field in ("https_certificate_file", "https_key_file"):
            path = model.get(field)
            if not path:
                errors.append(f"{variable_of(field)}: required when {variable_of('https_type')} is manual")
            elif not os.path.isfile(os.path.expanduser(str(path))):
                # Read on the controller, where this check runs.
                errors.append(f"{variable_of(field)}: no such file on the controller: {path!r}")
        return
    if not model.get("https_letsencrypt_contact_email"):
        errors.append(f"{variable_of('https_letsencrypt_contact_email')}: required when {enabled} (ACME)")
    directory = model.get("https_acme_directory") or ""
    if not directory.startswith("https://"):
        errors.append(f"{variable_of('https_acme_directory')}: must be an https:// URL, got {directory!r}")
    if model.get("target") == "kubernetes" and model.get("https_acme_ca_bundle"):
        errors.append(
            f"{variable_of('https_acme_ca_bundle')}: the local target only (the chart's ACME client, in the "
            "autohttps pod, takes no CA bundle); leave it empty on Kubernetes"
        )
    days = model.get("https_renew_days")
    if days is not None and (isinstance(days, bool) or not str(days).strip().isdigit() or int(days) < 1):
        errors.append(f"{variable_of('https_renew_days')}: must be a whole number of days >= 1, got {days!r}")


def _validate_ip(errors, variable, value):
    if value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            errors.append(f"{variable}: not an IP address: {value!r}")


def _validate_singleuser(model, errors):
    singleuser = model.get("singleuser") or {}
    if not singleuser.get("image_name"):
        errors.append(f"{variable_of('singleuser.image_name')}: required")
    if not str(singleuser.get("image_tag") or ""):
        errors.append(f"{variable_of('singleuser.image_tag')}: required ({IMAGE_TAG_ERROR})")
    for resource in ("cpu", "memory"):
        guarantee, limit = (singleuser.get(f"{resource}_{kind}") for kind in ("guarantee", "limit"))
        guarantee_at, limit_at = (variable_of(f"singleuser.{resource}_{kind}") for kind in ("guarantee", "limit"))
        _check_at_most(
            errors,
            (guarantee_at, guarantee),
            (limit_at, limit),
            f"{guarantee_at}: {guarantee} is more than {limit_at} {limit}",
        )
    profiles = singleuser.get("profiles") or []
    profiles_at = variable_of("singleuser.profiles")
    defaults = 0
    seen = set()
    for index, profile in enumerate(profiles):
        where = f"{profiles_at}[{index}]"
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
        if profile.get("groups") and model.get("target") == "local":
            errors.append(
                f"{where}.groups: the local target offers no profiles (every server runs the one venv); "
                "per-group profiles need daskhub_target: kubernetes"
            )
        limits = profile.get("extra_resource_limits") or {}
        for resource, guarantee in (profile.get("extra_resource_guarantees") or {}).items():
            if resource in limits:
                _check_request_limit(
                    errors, f"{where}.extra_resource[{resource}]", guarantee, limits[resource], "guarantee", "limit"
                )
    if defaults > 1:
        errors.append(f"{profiles_at}: {defaults} profiles are marked default, at most one may be")
    for index, volume in enumerate(singleuser.get("extra_volumes") or []):
        where = f"{variable_of('singleuser.extra_volumes')}[{index}]"
        for key in ("name", "host_path", "mount_path"):
            if not volume.get(key):
                errors.append(f"{where}.{key}: required")
        propagation = volume.get("mount_propagation")
        if propagation not in (None, "", "None", "HostToContainer", "Bidirectional"):
            errors.append(f"{where}.mount_propagation: must be None, HostToContainer or Bidirectional")


def _validate_gateway(model, errors):
    gateway = model.get("gateway") or {}

    def at(key):
        return variable_of(f"gateway.{key}")

    _check_range(errors, at("worker_cores"), gateway.get("worker_cores"), minimum_floor=1, integer=True)
    memory = gateway.get("worker_memory")
    _check_range(errors, at("worker_memory"), memory)
    if isinstance(memory, dict) and _is_number(memory.get("min")) and memory["min"] <= 0:
        errors.append(f"{at('worker_memory')}.min: must be more than 0 GiB")
    gpus = gateway.get("worker_gpus") or {}
    if gpus.get("enabled"):
        _check_range(errors, at("worker_gpus"), gpus, minimum_floor=0, integer=True)
        if not gpus.get("resource"):
            errors.append(f"{at('worker_gpus')}.resource: required when GPUs are enabled")
    image = worker_image(model)
    if not image_has_tag(image):
        errors.append(f"{at('worker_image')}: {image!r}: {IMAGE_TAG_ERROR}")
    cores = gateway.get("scheduler_cores") or {}
    _check_request_limit(errors, at("scheduler_cores"), cores.get("request"), cores.get("limit"))
    memory = gateway.get("scheduler_memory") or {}
    _check_request_limit(errors, at("scheduler_memory"), memory.get("request"), memory.get("limit"))
    timeout = _as_number(gateway.get("idle_timeout"))
    if timeout is None or timeout < 0:
        errors.append(f"{at('idle_timeout')}: must be a number of seconds >= 0, got {gateway.get('idle_timeout')!r}")
    for key in ("cluster_max_cores", "cluster_max_workers"):
        value = gateway.get(key)
        number = _as_number(value)
        if value is not None and (number is None or number <= 0):
            errors.append(f"{at(key)}: must be a positive number or null, got {value!r}")
    max_memory = gateway.get("cluster_max_memory")
    if max_memory is not None:
        try:
            if parse_quantity(max_memory) <= 0:
                errors.append(f"{at('cluster_max_memory')}: must be positive")
        except ValueError as err:
            errors.append(f"{at('cluster_max_memory')}: {err}")
    cores_spec = gateway.get("worker_cores") or {}
    max_cores = _as_number(gateway.get("cluster_max_cores"))
    if _is_number(max_cores) and _is_number(cores_spec.get("default")) and cores_spec["default"] > max_cores:
        errors.append(
            f"{at('cluster_max_cores')}: {max_cores} is less than one default worker ({cores_spec['default']} cores)"
        )
    oauth_rules.validate_group_limits(gateway, errors, at)
    _validate_ip(errors, at("traefik_load_balancer_ip"), gateway.get("traefik_load_balancer_ip"))
    for cidr in gateway.get("traefik_load_balancer_source_ranges") or []:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            errors.append(f"{at('traefik_load_balancer_source_ranges')}: not a CIDR range: {cidr!r}")


def _validate_services(model, errors):
    where = variable_of("hub_extra_services")
    for name in model.get("hub_extra_services") or {}:
        if name in RESERVED_SERVICES:
            errors.append(f"{where}: {name!r} is defined by the project already")
        elif not _SERVICE_NAME.match(str(name)):
            errors.append(f"{where}: {name!r} is not a valid service name (lowercase letters, digits, -)")


def _validate_monitoring(model, errors):
    errors.extend(f"{variable_of(field)}: {message}" for field, message in monitoring_errors(model))


def _validate_cull(model, errors):
    cull_model.validate(model, errors, variable_of)


def _validate_user_data(model, errors):
    user_data.validate(model, errors, variable_of)


# --- All together ----------------------------------------------------------------


def _validate_proxy_ip(model, errors):
    _validate_ip(errors, variable_of("proxy_load_balancer_ip"), model.get("proxy_load_balancer_ip"))


def validate(model: dict, inputs: Mapping | None = None) -> list[str]:
    """Return every problem of the model, one readable line each.

    ``inputs`` (what the model role passes): ``values``, ``spec``,
    ``defined`` and ``known`` for ``input_errors``, and
    ``system_accounts`` (daskhub_local_system_users: true, false or auto)
    with ``run_as_root`` (auto means true as root), and ``local_hub_port``
    (the local hub's public URL, without daskhub_hub_public_url). Without them only the
    names and the cross-field rules are checked.
    """
    inputs = inputs or {}
    errors: list[str] = []
    if inputs:
        errors += input_errors(
            inputs.get("values") or {}, inputs.get("spec") or {}, inputs.get("defined") or (), inputs.get("known") or ()
        )
    typed = bool(errors)
    requested = str(inputs.get("system_accounts", False)).lower()
    system_accounts = model.get("target") == "local" and (
        requested in ("true", "yes", "1", "on") or (requested == "auto" and bool(inputs.get("run_as_root")))
    )
    # With the spec, its choices already cover these two.
    if model.get("target") not in TARGETS and "spec" not in inputs:
        errors.append(f"{variable_of('target')}: must be one of {', '.join(TARGETS)}, got {model.get('target')!r}")
    if model.get("chart_mode") not in CHART_MODES and "spec" not in inputs:
        errors.append(
            f"{variable_of('chart_mode')}: must be one of {', '.join(CHART_MODES)}, got {model.get('chart_mode')!r}"
        )
    validate_names(model, errors, system_accounts)
    if system_accounts and (model.get("oauth") or {}).get("allowed_groups"):
        errors.append(
            f"{variable_of('oauth.allowed_groups')}: with system accounts each hub user runs as the host account "
            f"of its name, and a user let in by group has none; name the users in {variable_of('users')} "
            "or set daskhub_local_system_users: false (the shared-uid mode)"
        )
    if model.get("target") == "local" and "local_bind_ip" in inputs:
        errors += public_site_errors(model, inputs["local_bind_ip"])
    rules = (
        _validate_users,
        _validate_verify_user,
        lambda model, errors: _validate_auth(model, errors, inputs.get("local_hub_port")),
        _validate_https,
        _validate_proxy_ip,
        _validate_singleuser,
        _validate_gateway,
        _validate_services,
        _validate_monitoring,
        _validate_cull,
        _validate_user_data,
    )
    for rule in rules:
        try:
            rule(model, errors)
        except (AttributeError, TypeError, ValueError, KeyError):
            # A value of the wrong type, already reported above.
            if not typed:
                raise
    return list(dict.fromkeys(errors))


def assert_valid(model: dict, inputs: Mapping | None = None) -> dict:
    errors = validate(model, inputs)
    if errors:
        raise ModelError("The site model is invalid:\n" + "\n".join(f"  - {e}" for e in errors))
    return model
