"""The inventory's ``daskhub_*`` variables: known names and declared types.

Types are checked here rather than by Ansible's role argument validation,
which prints internal class names (``_AnsibleTaggedStr``) and stops before
the other rules run.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping

from ansible_collections.daskhub.deploy.plugins.module_utils.model.quantities import (
    _as_number,
    _is_number,
)

# --- Input: unknown variables and types -------------------------------------

# Variables under this prefix are the site's own (for its templates, its
# other playbooks): never reported as unknown.
SITE_PREFIX = "daskhub_site_"
_PROJECT_PREFIX = "daskhub_"
_SHOWN_MAX = 80


def plain_value(value):
    """``value`` as plain Python (Ansible's tagged str/dict/list subclasses stripped)."""
    if isinstance(value, bool) or value is None:
        plain = value
    elif isinstance(value, (int, float, str)):
        plain = next(kind(value) for kind in (int, float, str) if isinstance(value, kind))
    elif isinstance(value, Mapping):
        plain = {str(key): plain_value(item) for key, item in value.items()}
    elif isinstance(value, Iterable):
        plain = [plain_value(item) for item in value]
    else:
        plain = str(value)
    return plain


def shown_value(value) -> str:
    """The value as the inventory would write it (YAML flow style, like JSON)."""
    text = json.dumps(plain_value(value), ensure_ascii=False, default=str)
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
        shown = "" if spec.get("no_log") else f", got {shown_value(value)}"
        errors.append(f"{where}: must be {_KINDS.get(kind, kind)}{shown}")
        return
    choices = spec.get("choices")
    if choices and value is not None and value not in choices:
        shown = "" if spec.get("no_log") else f", got {shown_value(value)}"
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
    declares (model/variables.py: the roles' options and vars, its facts).
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
