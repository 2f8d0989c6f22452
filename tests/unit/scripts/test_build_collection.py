"""scripts/build_collection.py refuses a fork's address that is not a URL, before it builds anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_an_address_that_is_not_an_http_url_is_named_and_nothing_is_built(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/build_collection.py"),
            "--output-path",
            str(tmp_path / "out"),
            "--repository",
            "git@example.org:hep/daskhub-deploy.git",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "DASKHUB_COLLECTION_ISSUES": "ftp://example.org/issues"},
    )
    assert result.returncode == 2
    assert "--repository (or DASKHUB_COLLECTION_REPOSITORY): 'git@example.org:hep/daskhub-deploy.git'" in result.stderr
    assert "--issues (or DASKHUB_COLLECTION_ISSUES): 'ftp://example.org/issues' is not an http(s) URL" in result.stderr
    assert not (tmp_path / "out").exists()
