"""YAML out: readable values files, their diffs, and secrets kept out of both; PyYAML for the others."""

from __future__ import annotations

import copy
import difflib
import functools
import re
import sys

REDACTED = "********"


def require_yaml():
    """PyYAML's ``yaml``, or an ImportError that says where it is missing (the module reports it).

    Imported at the first call, not with this file: most modules that import
    it never read or write YAML, and PyYAML is a tenth of their start.
    """
    try:
        import yaml  # noqa: PLC0415  ansible-core's requirement on the controller; a host may lack it
    except ImportError:
        raise ImportError(f"this needs the Python package PyYAML, which {sys.executable} does not have") from None
    return yaml


# --- Secrets out of sight --------------------------------------------------------


def string_values(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from string_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from string_values(item)
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


def _represent_str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    if _AMBIGUOUS.match(data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


@functools.cache
def _dumper():
    class Dumper(require_yaml().SafeDumper):
        """Readable values files: code blocks as literal blocks, ambiguous strings quoted."""

    Dumper.add_representer(str, _represent_str)
    return Dumper


def dump_yaml(data) -> str:
    return require_yaml().dump(
        data, Dumper=_dumper(), sort_keys=True, default_flow_style=False, width=1000, allow_unicode=True
    )


def values_diff(before: dict | None, after: dict, label: str = "values") -> str:
    """Unified diff of two values dicts as YAML ("" when equal)."""
    old = dump_yaml(before or {}).splitlines(keepends=True)
    new = dump_yaml(after or {}).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, f"{label} (deployed)", f"{label} (rendered)"))
