"""Install requirements.yml from Ansible Galaxy when it can be reached.

Offline (the usual case on air-gapped sites and on our CI machines) the
collections bundled with the ``ansible`` package are used instead;
check_collections.py then verifies their versions either way.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

GALAXY_API = "https://galaxy.ansible.com/api/"


def galaxy_reachable(url: str = GALAXY_API, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  fixed https URL
            return response.status < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("auto", "never", "always"), default="auto")
    parser.add_argument("--requirements", default="requirements.yml")
    parser.add_argument("--path", default=".collections")
    args = parser.parse_args(argv)

    if args.mode == "never":
        print("bootstrap: DASKHUB_GALAXY=never, using the collections bundled with ansible")
        return 0
    if not galaxy_reachable():
        if args.mode == "always":
            print("bootstrap: Ansible Galaxy cannot be reached and DASKHUB_GALAXY=always", file=sys.stderr)
            return 1
        print("bootstrap: Ansible Galaxy cannot be reached, using the collections bundled with ansible")
        return 0
    galaxy = str(Path(sys.executable).parent / "ansible-galaxy")
    command = [galaxy, "collection", "install", "-r", args.requirements, "-p", args.path]
    print("bootstrap: " + " ".join(command[1:]))
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
