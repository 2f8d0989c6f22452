"""The rules a site model must follow, checked before anything changes.

Three kinds of problem, all reported together in one message, each line
naming the variable as the inventory spells it:

- input: every ``daskhub_*`` variable of the inventory is one this project
  knows (a misspelling names the closest known one), and has the type the
  model role's ``meta/argument_specs.yml`` declares. Types are checked here
  rather than by Ansible's role argument validation, which prints internal
  class names (``_AnsibleTaggedStr``) and stops before the other rules run;
- names: users, admins and blocked users are names JupyterHub keeps as
  written (and, with system accounts, valid account names);
- cross-field rules: ranges, request <= limit, image tags, OAuth fields.

Pure Python, no Ansible imports, like site_model.py whose pieces it checks.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping

from ansible_collections.daskhub.deploy.plugins.module_utils.site_model import (
    AUTHENTICATORS,
    IMAGE_TAG_ERROR,
    RESERVED_SERVICES,
    _as_number,
    _is_number,
    _names,
    image_has_tag,
    parse_quantity,
    verify_user,
    worker_image,
)

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
            f"daskhub_verify_user: {user} is in daskhub_admin_users; verify opens this user's server, "
            "so it must be an ordinary user (leave it empty for the dedicated daskhub-verify-user)"
        )
    if user in _names(model.get("blocked_users")):
        errors.append(f"daskhub_verify_user: {user} is in daskhub_blocked_users, so verify could not start its server")


# The dummy authenticator's one password opens every allowed account.
DUMMY_PASSWORD_MIN = 16


def _validate_auth(model, errors):
    authenticator = model.get("authenticator")
    if authenticator not in AUTHENTICATORS:
        errors.append(f"daskhub_authenticator: must be one of {', '.join(AUTHENTICATORS)}, got {authenticator!r}")
        return
    length = int(model.get("dummy_password_length") or 0)
    if model.get("dummy_password_set") in (True, "True", "true") and length < DUMMY_PASSWORD_MIN:
        errors.append(
            f"daskhub_dummy_password: {length} characters without the spaces around them; the shared password "
            f"needs at least {DUMMY_PASSWORD_MIN} (leave it empty and the play generates one)"
        )
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


# --- Input: unknown variables and types -------------------------------------

# Variables under this prefix are the site's own (for its templates, its
# other playbooks): never reported as unknown.
SITE_PREFIX = "daskhub_site_"
_PROJECT_PREFIX = "daskhub_"
_SHOWN_MAX = 80


def _plain(value):
    """``value`` as plain Python (Ansible's tagged str/dict/list subclasses stripped)."""
    if isinstance(value, bool) or value is None:
        plain = value
    elif isinstance(value, (int, float, str)):
        plain = next(kind(value) for kind in (int, float, str) if isinstance(value, kind))
    elif isinstance(value, Mapping):
        plain = {str(key): _plain(item) for key, item in value.items()}
    elif isinstance(value, Iterable):
        plain = [_plain(item) for item in value]
    else:
        plain = str(value)
    return plain


def _shown(value) -> str:
    """The value as the inventory would write it (YAML flow style, like JSON)."""
    text = json.dumps(_plain(value), ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


_BOOLEANS = {"yes", "no", "true", "false", "on", "off", "y", "n", "1", "0"}
_KINDS = {
    "str": "a string",
    "path": "a path (a string)",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "list": "a list",
    "dict": "a mapping",
}


def _is_int(value) -> bool:
    if isinstance(value, str):
        return re.fullmatch(r"\s*[-+]?[0-9]+\s*", value) is not None
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value) -> bool:
    if isinstance(value, str):
        return _as_number(value.strip()) is not None
    return _is_number(value)


_IS_KIND = {
    # Ansible converts numbers to strings (chart versions, image tags).
    "str": lambda value: _is_number(value) or isinstance(value, str),
    "path": lambda value: _is_number(value) or isinstance(value, str),
    "int": _is_int,
    "float": _is_float,
    "bool": lambda value: isinstance(value, (bool, str, int)) and str(value).lower() in _BOOLEANS,
    # Not a comma-separated string: the model would iterate its characters.
    "list": lambda value: isinstance(value, list),
    "dict": lambda value: isinstance(value, Mapping),
}


def _is_kind(value, kind: str) -> bool:
    """Whether Ansible's argument spec would take ``value`` as ``kind`` (its conversions included)."""
    return value is None or _IS_KIND.get(kind, lambda _value: True)(value)


def _closest(name: str, known: Iterable[str]) -> str:
    # Compared without the shared daskhub_ prefix, which would make every
    # name look close to every other.
    def bare(text: str) -> str:
        return text.removeprefix(_PROJECT_PREFIX)

    by_bare = {bare(candidate): candidate for candidate in sorted(known)}
    match = difflib.get_close_matches(bare(name), list(by_bare), n=1, cutoff=0.75)
    return f" (did you mean {by_bare[match[0]]}?)" if match else ""


def _check_value(errors, where: str, value, spec: Mapping) -> None:
    kind = spec.get("type", "str")
    if not _is_kind(value, kind):
        shown = "" if spec.get("no_log") else f", got {_shown(value)}"
        errors.append(f"{where}: must be {_KINDS.get(kind, kind)}{shown}")
        return
    choices = spec.get("choices")
    if choices and value is not None and value not in choices:
        shown = "" if spec.get("no_log") else f", got {_shown(value)}"
        errors.append(f"{where}: must be one of {', '.join(map(str, choices))}{shown}")
    suboptions = spec.get("options")
    if kind == "list" and isinstance(value, list):
        elements = spec.get("elements")
        for index, item in enumerate(value):
            item_spec = {"type": elements, "options": suboptions, "no_log": spec.get("no_log")}
            if elements:
                _check_value(errors, f"{where}[{index}]", item, item_spec)
    elif kind == "dict" and suboptions and isinstance(value, Mapping):
        for key in value:
            if key not in suboptions:
                errors.append(f"{where}: unknown key {key!r}{_closest(str(key), suboptions)}")
        for key, sub_spec in suboptions.items():
            if key in value:
                _check_value(errors, f"{where}.{key}", value[key], sub_spec)
            elif sub_spec.get("required"):
                errors.append(f"{where}.{key}: required")


def input_errors(values: Mapping, spec_options: Mapping, defined: Iterable[str], known: Iterable[str]) -> list[str]:
    """Problems of the inventory's variables, one line each.

    ``values``: the model role's variables as the play sees them, by name;
    ``spec_options``: that role's argument_specs options; ``defined``: every
    variable name the play has; ``known``: every daskhub_* name this project
    uses (the roles' documented options and defaults, its facts).
    """
    errors: list[str] = []
    known = set(known) | set(spec_options)
    for name in sorted(set(defined)):
        if name.startswith(_PROJECT_PREFIX) and not name.startswith(SITE_PREFIX) and name not in known:
            errors.append(
                f"{name}: not a variable of this project{_closest(name, known)}; "
                f"name site-specific variables {SITE_PREFIX}*"
            )
    for name, spec in spec_options.items():
        if name in values:
            _check_value(errors, name, values[name], spec)
    return errors


# --- Names of users ------------------------------------------------------------

# JupyterHub (4 and 5) refuses a name with '/' or with leading or trailing
# whitespace (5 also one of only dots), and its authenticators lowercase every login name, so a name
# with capitals never matches the user who logs in. Whitespace, control
# characters and the URL's own delimiters inside a name break the URLs the
# name is part of (/user/<name>/, the API's /users/<name>).
_NAME_FORBIDDEN = re.compile(r"[\s/\\?#%\x00-\x1f\x7f]")
# useradd's default NAME_REGEX (shadow) and its 32-character limit.
_ACCOUNT_NAME = re.compile(r"^[a-z_][a-z0-9_-]*\$?$")
ACCOUNT_NAME_MAX = 32
_NAME_LISTS = (
    ("users", "daskhub_users"),
    ("admin_users", "daskhub_admin_users"),
    ("blocked_users", "daskhub_blocked_users"),
)


def account_problem(name: str, variable: str = "daskhub_local_system_users") -> str | None:
    """Why ``name`` cannot be a system account (useradd's rules), or None; ``variable`` asks for accounts."""
    if name == "root":
        # Whatever logs in as this hub user would run notebooks and clusters as uid 0.
        return "'root' is the superuser's account: no hub user or service may run as root"
    if len(name) > ACCOUNT_NAME_MAX:
        return f"{name!r} is longer than {ACCOUNT_NAME_MAX} characters, too long for a system account"
    if not _ACCOUNT_NAME.match(name):
        return (
            f"{name!r} is not a valid system account name ({variable}: a lowercase letter "
            "or '_', then lowercase letters, digits, '_' or '-')"
        )
    return None


def name_problem(name, *, system_accounts: bool = False) -> str | None:
    """Why ``name`` cannot be a hub user's name, or None when it can."""
    problem = None
    if not isinstance(name, str):
        problem = f"must be a string, got {_shown(name)} (quote it)"
    elif not name:
        problem = "must not be empty"
    elif bad := sorted(set(_NAME_FORBIDDEN.findall(name))):
        described = ", ".join(sorted({"whitespace" if char.isspace() else repr(char) for char in bad}))
        problem = f"{name!r} contains {described}, which JupyterHub user names cannot"
    elif set(name) == {"."}:
        problem = f"{name!r} is only dots, which JupyterHub 5 refuses (it would be a relative URL path)"
    elif name != name.lower():
        problem = f"{name!r} has capitals: JupyterHub lowercases login names, write {name.lower()!r}"
    elif system_accounts:
        problem = account_problem(name)
    return problem


def _validate_names(model, errors, system_accounts):
    for key, variable in _NAME_LISTS:
        names = model.get(key) or []
        if not isinstance(names, list):
            continue
        for index, name in enumerate(names):
            problem = name_problem(_plain(name), system_accounts=system_accounts)
            if problem:
                errors.append(f"{variable}[{index}]: {problem}")


# --- All together ----------------------------------------------------------------


def _validate_proxy_ip(model, errors):
    _validate_ip(errors, "daskhub_proxy_load_balancer_ip", model.get("proxy_load_balancer_ip"))


def validate(model: dict, inputs: Mapping | None = None) -> list[str]:
    """Return every problem of the model, one readable line each.

    ``inputs`` (what the model role passes): ``values``, ``spec``,
    ``defined`` and ``known`` for ``input_errors``, and
    ``system_accounts`` (daskhub_local_system_users: true, false or auto)
    with ``run_as_root`` (auto means true as root). Without them only the
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
        errors.append(f"daskhub_target: must be one of {', '.join(TARGETS)}, got {model.get('target')!r}")
    if model.get("chart_mode") not in CHART_MODES and "spec" not in inputs:
        errors.append(f"daskhub_chart_mode: must be one of {', '.join(CHART_MODES)}, got {model.get('chart_mode')!r}")
    _validate_names(model, errors, system_accounts)
    rules = (
        _validate_users,
        _validate_verify_user,
        _validate_auth,
        _validate_https,
        _validate_proxy_ip,
        _validate_singleuser,
        _validate_gateway,
        _validate_services,
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
