"""Helm's rules for combining values: several --values files, chart defaults under the user's values."""

from __future__ import annotations

import copy


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
