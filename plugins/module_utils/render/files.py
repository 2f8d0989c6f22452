"""The files of plugins/files/ (code that runs inside the services), read by the renderers.

On the controller (filters, tests) they are found beside module_utils; a
module, which runs from a copy of module_utils only, is given the folder
(helm_values' files_dir option, set by its role).
"""

from __future__ import annotations

from pathlib import Path

# plugins/module_utils/render/files.py -> plugins/files/
FILES_DIR = Path(__file__).resolve().parents[2] / "files"


def read(relative: str, files_dir: str | None = None) -> str:
    """The text of plugins/files/<relative>."""
    path = Path(files_dir or FILES_DIR) / relative
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: not found (the collection's plugins/files/ folder)") from None
