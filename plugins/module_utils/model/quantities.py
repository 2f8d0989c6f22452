"""Reading the model's values: memory and CPU quantities, numbers, versions,
image references. Pure Python, shared by the model, the validation and the renderers.
"""

from __future__ import annotations

import re

IMAGE_TAG_ERROR = "When specifying an image you must also provide a tag"

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


# --- Images -----------------------------------------------------------------


def singleuser_image(model: dict) -> str:
    singleuser = model.get("singleuser") or {}
    return f"{singleuser.get('image_name')}:{singleuser.get('image_tag')}"


def worker_image(model: dict) -> str:
    return (model.get("gateway") or {}).get("worker_image") or singleuser_image(model)


def version_tuple(version: str) -> tuple:
    parts = []
    for part in str(version).split("."):
        digits = re.match(r"\d+", part)
        parts.append(int(digits.group()) if digits else 0)
    return tuple(parts)
