"""Validation of rendered values against the chart schemas, as `helm install` does.

The chart defaults are coalesced with the site values (helm's rules, where
a null value deletes a default) and the result is checked against the
chart's JSON schema; an umbrella's subchart sections are checked against the
subchart's schema. Needs jsonschema on the controller.
"""

from __future__ import annotations

import copy
import functools
import os
import re

from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.merge import coalesce, deep_merge
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.releases import ValuesError
from ansible_collections.daskhub.deploy.plugins.module_utils.yaml_io import REDACTED, require_yaml, string_values

try:
    from jsonschema import Draft7Validator
except ImportError:  # reported when validation runs, so docs and rendering work without it
    Draft7Validator = None


@functools.lru_cache(maxsize=32)
def _load_yaml_cached(path: str, mtime: float):
    del mtime  # part of the cache key only: an edited file is read again
    with open(path, encoding="utf-8") as stream:
        return require_yaml().safe_load(stream)


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
    secret_strings = [s for s in string_values(release["secrets"]) if s]
    if release.get("defaults"):
        umbrella_defaults, _unused = chart_data(chart_data_dir, *release["defaults"])
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
