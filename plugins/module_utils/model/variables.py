"""The site's ``daskhub_*`` variables: which feeds which field of the model, and which names exist.

One declaration, ``roles/daskhub_model/meta/variables.yml``, read here for
the three that need it: the model role builds ``daskhub_model`` with
``build_model``, validation names the variable of a model field with
``variable_of``, and ``scripts/gen_model_doc.py`` documents ``model_inputs``.
The known names (``known_variables``) are the roles' declarations: their
argument_specs options, their vars/main.yml, the declared facts and the
scheduled jobs' settings.

Controller side only; no Ansible imports.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sized
from pathlib import Path

from ansible_collections.daskhub.deploy.plugins.module_utils.yaml_io import require_yaml

# The collection root (this file is plugins/module_utils/model/variables.py).
COLLECTION = Path(__file__).resolve().parents[3]
ROLES = COLLECTION / "roles"
MODEL_ROLE = ROLES / "daskhub_model"
DECLARATION = MODEL_ROLE / "meta" / "variables.yml"
MODEL_ENTRY_POINT = "site_model"


def _load(path: Path):
    yaml = require_yaml()
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _is_set(value) -> bool:
    if isinstance(value, Sized):
        return len(value) > 0
    return value is not None


def _length(value) -> int:
    return 0 if value is None else len(str(value).strip())


# What an operator leaves in a secret before replacing it (the example
# site's REPLACE-WITH-THE-IAM-CLIENT-SECRET, "changeme", "<secret>").
_PLACEHOLDER = re.compile(
    r"^(<.*>|replace[-_ ].*|change[-_ ]?me|todo|xxx+|secret|placeholder|client[-_ ]?secret)$", re.IGNORECASE
)


def _placeholder(value) -> bool:
    return value is not None and bool(_PLACEHOLDER.match(str(value).strip()))


# How a declared field derives from its variable; a secret only ever through these.
DERIVATIONS = {"is_set": _is_set, "length": _length, "placeholder": _placeholder}


@functools.lru_cache(maxsize=1)
def declaration() -> dict:
    """``roles/daskhub_model/meta/variables.yml`` as loaded: ``model``, ``facts`` and ``schedules``."""
    return _load(DECLARATION)


@functools.lru_cache(maxsize=1)
def model_inputs() -> dict[str, dict[str, str | None]]:
    """{variable: {model field (dotted): derivation, None for the value as set}}; {} when not in the model."""
    inputs: dict[str, dict[str, str | None]] = {}
    for variable, target in declaration()["model"].items():
        if target is None:
            inputs[variable] = {}
        elif isinstance(target, str):
            inputs[variable] = {target: None}
        else:
            unknown = sorted(set(target.values()) - set(DERIVATIONS))
            if unknown:
                raise ValueError(f"{DECLARATION.name}: {variable}: unknown derivation {', '.join(unknown)}")
            inputs[variable] = dict(target)
    return inputs


@functools.lru_cache(maxsize=1)
def _variables_by_field() -> dict[str, str]:
    return {field: variable for variable, fields in model_inputs().items() for field in fields}


def variable_of(field: str) -> str:
    """The variable that feeds the model's ``field`` (``"singleuser.image_tag"``), as the inventory spells it.

    A module (helm_values re-checks the model it renders) runs from a copy of
    module_utils only, without the declaration: there the field is named as
    ``daskhub_model.<field>``. The model role, on the controller, checked the
    same model with the variables' names before any module ran.
    """
    if not DECLARATION.is_file():
        return f"daskhub_model.{field}"
    try:
        return _variables_by_field()[field]
    except KeyError:
        raise KeyError(f"no variable feeds the model field {field!r} ({DECLARATION.name})") from None


def build_model(values: Mapping) -> dict:
    """``daskhub_model`` from the variables' values by name; a variable left out feeds None (or False, or 0)."""
    model: dict = {}
    for variable, fields in model_inputs().items():
        value = values.get(variable)
        for field, derivation in fields.items():
            *parents, key = field.split(".")
            node = model
            for parent in parents:
                node = node.setdefault(parent, {})
            node[key] = value if derivation is None else DERIVATIONS[derivation](value)
    return model


@functools.lru_cache(maxsize=1)
def model_spec() -> dict:
    """The model role's argument_specs options: the types and choices of the site's variables."""
    specs = _load(MODEL_ROLE / "meta" / "argument_specs.yml")["argument_specs"]
    return specs[MODEL_ENTRY_POINT]["options"]


@functools.lru_cache(maxsize=1)
def known_variables() -> frozenset[str]:
    """Every daskhub_* name the project declares: roles' options and vars, and the facts it sets."""
    names = set(declaration()["facts"]) | set(model_inputs())
    for role in ROLES.iterdir():
        specs = role / "meta" / "argument_specs.yml"
        if specs.is_file():
            for entry_point in (_load(specs) or {}).get("argument_specs", {}).values():
                names.update(entry_point.get("options") or {})
        role_vars = role / "vars" / "main.yml"
        if role_vars.is_file():
            names.update(_load(role_vars) or {})
    names.update(schedule_settings())
    return frozenset(name for name in names if name.startswith("daskhub_"))


def schedule_settings() -> set[str]:
    """The scheduled jobs' settings, daskhub_<job>_schedule_<setting> (the declaration's ``schedules``)."""
    schedules = declaration().get("schedules") or {}
    return {
        f"daskhub_{job}_schedule_{setting}"
        for job, own in (schedules.get("jobs") or {}).items()
        for setting in [*(schedules.get("settings") or []), *(own or [])]
    }
