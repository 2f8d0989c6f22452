"""Build the collection tarball, with a site's own addresses if it has them.

``ansible-galaxy collection build`` writes galaxy.yml's ``repository``,
``documentation``, ``homepage`` and ``issues`` into the tarball's
MANIFEST.json. A site that forks and publishes its own build gives its
addresses here (options, or the DASKHUB_COLLECTION_* variables) instead of
editing galaxy.yml, so its fork never conflicts with ours over them:

    python scripts/build_collection.py --repository https://git.example.org/hep/daskhub-deploy \
        --documentation https://hep.example.org/daskhub/ --issues https://git.example.org/hep/daskhub-deploy/issues

Only MANIFEST.json changes: FILES.json, which checksums every other file,
does not list it, so ``ansible-galaxy collection install`` takes the result
as it takes ours.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# galaxy.yml's keys a site may override, and the variable each reads by default.
URL_FIELDS = {
    "repository": "DASKHUB_COLLECTION_REPOSITORY",
    "documentation": "DASKHUB_COLLECTION_DOCUMENTATION",
    "homepage": "DASKHUB_COLLECTION_HOMEPAGE",
    "issues": "DASKHUB_COLLECTION_ISSUES",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--output-path",
        type=Path,
        default=ROOT / "build" / "collection",
        help="directory for the tarball (default: build/collection)",
    )
    parser.add_argument(
        "--ansible-galaxy",
        default=str(Path(sys.executable).parent / "ansible-galaxy"),
        help="ansible-galaxy executable (default: the one beside this Python)",
    )
    for field, variable in URL_FIELDS.items():
        parser.add_argument(
            f"--{field}",
            default=os.environ.get(variable) or None,
            help=f"the {field} URL in MANIFEST.json (default: ${variable}, else galaxy.yml's)",
        )
    return parser.parse_args(argv)


def check_urls(overrides: dict[str, str]) -> list[str]:
    problems = []
    for field, url in overrides.items():
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"--{field} (or {URL_FIELDS[field]}): {url!r} is not an http(s) URL")
    return problems


def build(ansible_galaxy: str, output_path: Path) -> Path:
    output_path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [ansible_galaxy, "collection", "build", "--force", "--output-path", str(output_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"build_collection: ansible-galaxy collection build failed:\n{result.stdout}{result.stderr}")
    # "Created collection for daskhub.deploy at /path/daskhub-deploy-0.1.0.tar.gz"
    return Path(result.stdout.strip().splitlines()[-1].rsplit(" at ", 1)[1])


def stamp_manifest(tarball: Path, overrides: dict[str, str]) -> None:
    """Rewrite the tarball with MANIFEST.json's collection_info updated."""
    replacement = tarball.with_name(tarball.name + ".partial")
    with tarfile.open(tarball, "r:gz") as source, tarfile.open(replacement, "w:gz") as target:
        for member in source.getmembers():
            if member.name != "MANIFEST.json":
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
                continue
            manifest = json.load(source.extractfile(member))
            manifest["collection_info"].update(overrides)
            data = (json.dumps(manifest, indent=4, sort_keys=True) + "\n").encode()
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    replacement.replace(tarball)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {field: getattr(args, field) for field in URL_FIELDS if getattr(args, field)}
    problems = check_urls(overrides)
    if problems:
        print("build_collection: " + "; ".join(problems), file=sys.stderr)
        return 2
    tarball = build(args.ansible_galaxy, args.output_path.resolve())
    if overrides:
        stamp_manifest(tarball, overrides)
    print(tarball)
    return 0


if __name__ == "__main__":
    sys.exit(main())
