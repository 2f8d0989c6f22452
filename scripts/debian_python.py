"""The test suite's interpreter: Debian's own build of CPython 3.13, from Debian 13's archive.

    python3 scripts/debian_python.py      # prints the interpreter's path, or says why not and exits 1

Why. Debian 13 is a platform the README names, and its interpreter has
faults others lack: with OpenSSL 3.5 one failed TLS connection broke the
others of its thread, so users' Dask computations failed there while the
suite passed on this machine's pyenv builds (OpenSSL 3.0); the local target
now fixes it (module_utils/host/openssl_error_queue.py). The suite runs on
Debian 13's own interpreter, so the users' path is tested where it broke.
It is also the cheaper one. The suite is CPU-bound on two cores, and almost
all of its CPU is Python: Ansible, pytest, ansible-test, the linters, the
stacks' hubs, servers, kernels and Dask processes. The Pythons >= 3.12 of a
machine like this one are pyenv builds: ``--enable-shared``, without
``--enable-optimizations`` (PGO) or LTO; Debian builds its CPython with
both. Measured here, pyenv 3.12.1 against Debian's 3.13.5: a two-task
ansible-playbook run 1.15 against 0.78 s of CPU; ansible-lint of this
repository 82 against 51 s; ansible-test units 119 against 77 s.

What. Debian 13's InRelease, checked by gpgv against the machine's Debian
archive keyring; its Packages index for this architecture, checked against
the InRelease's SHA256; the packages of PACKAGES, each checked against the
index's SHA256, unpacked (dpkg-deb) into ``/opt/debian-python/<version>``.
The interpreter keeps the C library it was built for (Debian 13's glibc 2.41;
a Debian 12 host has 2.36): patchelf points its ELF interpreter at that
tree's ld.so and its RPATH at that tree's libraries (an RPATH, not a RUNPATH,
so that the standard library's extension modules load them too). Then what
Debian's maintainer scripts would do: ``python3`` beside ``python3.13``,
ensurepip's wheel directory (``WHEEL_PKG_DIR`` of the sysconfig data) inside
the tree, the standard library compiled to bytecode. The tree is readable by
every account, so the local target's accounts run it where it is. A later
run finds the finished tree (``current``) and uses it without the network.

Where it cannot be had (not root, no apt-get, another architecture, the
archive unreachable), it says why on stderr and exits 1: scripts/test.sh then
lets scripts/bootstrap.sh find an interpreter as it always does.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

MIRROR = os.environ.get("DASKHUB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "trixie"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
HOME = Path("/opt/debian-python")
CURRENT = HOME / "current"
MINOR = "3.13"
# The interpreter, its venv and ensurepip modules with their wheels, and the
# libraries it and its extension modules were built against, the C library first.
PACKAGES = (
    f"python{MINOR}",
    f"python{MINOR}-minimal",
    f"libpython{MINOR}-minimal",
    f"libpython{MINOR}-stdlib",
    f"python{MINOR}-venv",
    "python3-pip-whl",
    "python3-setuptools-whl",
    "libc6",
    "libgcc-s1",
    "libssl3t64",
    "openssl-provider-legacy",
    "zlib1g",
    "libzstd1",
    "libexpat1",
    "libffi8",
    "libmpdec4",
    "libsqlite3-0",
    "libbz2-1.0",
    "liblzma5",
    "libuuid1",
    "libncursesw6",
    "libtinfo6",
    "libreadline8t64",
    "libdb5.3t64",
)
# Debian architecture -> (multiarch directory, the C library's ELF interpreter).
ARCHITECTURES = {
    "amd64": ("x86_64-linux-gnu", "ld-linux-x86-64.so.2"),
    "arm64": ("aarch64-linux-gnu", "ld-linux-aarch64.so.1"),
}
# The modules the suite needs from the standard library's extension modules: each loads its libraries.
IMPORT_CHECK = "import ssl, hashlib, sqlite3, ctypes, decimal, lzma, bz2, zlib, uuid, readline, pyexpat, ensurepip"


class Unavailable(Exception):
    """Why Debian's interpreter cannot be had here."""


def fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310  the mirror's http, checked by hash
            return response.read()
    except OSError as err:
        raise Unavailable(f"{url}: {err}") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def release_hashes(inrelease: str) -> dict[str, str]:
    """The SHA256 section of a (verified) InRelease: file path -> digest."""
    hashes, section = {}, False
    for line in inrelease.splitlines():
        if not line.startswith(" "):
            section = line.strip() == "SHA256:"
            continue
        if section:
            digest, _size, name = line.split()
            hashes[name] = digest
    return hashes


def stanzas(index: str) -> dict[str, dict[str, str]]:
    """A Packages index: package name -> its fields (only the one-line fields are needed here)."""
    packages = {}
    for block in index.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line[:1] not in (" ", "\t") and ": " in line:
                key, value = line.split(": ", 1)
                fields[key] = value
        if "Package" in fields:
            packages[fields["Package"]] = fields
    return packages


def verified_release() -> str:
    """The suite's InRelease, its signature checked against the Debian archive keyring."""
    signed = fetch(f"{MIRROR}/dists/{SUITE}/InRelease")
    with tempfile.NamedTemporaryFile(suffix=".InRelease") as handle:
        handle.write(signed)
        handle.flush()
        check = subprocess.run(
            ["gpgv", "--keyring", str(KEYRING), "--output", "-", handle.name],
            capture_output=True,
            check=False,
        )
    if check.returncode:
        raise Unavailable(f"the signature of {SUITE}'s InRelease does not verify: {check.stderr.decode()[-500:]}")
    return check.stdout.decode()


def ensure_patchelf() -> str:
    """patchelf, from Debian's package when it is missing (test-deps.sh runs later: it needs .venv)."""
    if not shutil.which("patchelf"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "patchelf"]
        if subprocess.run(command, capture_output=True, env=env, check=False).returncode:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, check=False)
            subprocess.run(command, capture_output=True, env=env, check=False)
    found = shutil.which("patchelf")
    if not found:
        raise Unavailable("patchelf (Debian package patchelf) could not be installed")
    return found


def interpreter(tree: Path) -> Path:
    return tree / "usr" / "bin" / f"python{MINOR}"


def runs(tree: Path) -> bool:
    python = interpreter(tree)
    return python.is_file() and (
        subprocess.run([str(python), "-c", IMPORT_CHECK], capture_output=True, check=False).returncode == 0
    )


def install(architecture: str) -> Path:
    """Unpack, patch and compile the packages of PACKAGES into HOME/<version>; return the tree."""
    multiarch, loader = ARCHITECTURES[architecture]
    patchelf = ensure_patchelf()
    release = verified_release()
    index_path = f"main/binary-{architecture}/Packages.xz"
    index_xz = fetch(f"{MIRROR}/dists/{SUITE}/{index_path}")
    if sha256(index_xz) != release_hashes(release).get(index_path):
        raise Unavailable(f"{index_path} does not match the SHA256 of {SUITE}'s InRelease")
    index = stanzas(lzma.decompress(index_xz).decode())
    missing = [name for name in PACKAGES if name not in index]
    if missing:
        raise Unavailable(f"{SUITE} has no package {', '.join(missing)}")
    version = index[f"python{MINOR}"]["Version"]
    tree = HOME / version.replace(":", "_")
    if (tree / ".complete").is_file() and runs(tree):
        return tree
    HOME.mkdir(parents=True, exist_ok=True)
    HOME.chmod(0o755)
    work = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=HOME))
    try:
        for name in PACKAGES:
            fields = index[name]
            deb = fetch(f"{MIRROR}/{fields['Filename']}")
            if sha256(deb) != fields["SHA256"]:
                raise Unavailable(f"{fields['Filename']} does not match the SHA256 of {SUITE}'s Packages")
            package = work / f"{name}.deb"
            package.write_bytes(deb)
            subprocess.run(["dpkg-deb", "-x", str(package), str(work)], check=True)
            package.unlink()
        libraries = tree / "usr" / "lib" / multiarch
        python = work / "usr" / "bin" / f"python{MINOR}"
        elf = ["--set-interpreter", str(libraries / loader), "--force-rpath", "--set-rpath", str(libraries)]
        subprocess.run([patchelf, *elf, str(python)], check=True)
        (work / "usr" / "bin" / "python3").symlink_to(f"python{MINOR}")
        wheels = tree / "usr" / "share" / "python-wheels"
        for data in (work / "usr" / "lib" / f"python{MINOR}").glob("_sysconfigdata_*.py"):
            data.write_text(data.read_text().replace("'/usr/share/python-wheels/'", f"'{wheels}/'"))
        # Every account runs it: the local target's hub, servers and clusters run as the stack's accounts.
        os.chmod(work, 0o755)  # noqa: S103
        os.rename(work, tree)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    python = interpreter(tree)
    # The bytecode Debian's maintainer scripts compile; a file that does not compile fails where it is imported.
    stdlib = tree / "usr" / "lib" / f"python{MINOR}"
    subprocess.run([str(python), "-m", "compileall", "-q", "-j0", str(stdlib)], check=False)
    if not runs(tree):
        raise Unavailable(f"{python} does not import what the suite needs ({IMPORT_CHECK})")
    (tree / ".complete").write_text(version + "\n")
    return tree


def _debian_13_host() -> bool:
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    except OSError:
        return False
    return release.get("ID") == "debian" and release.get("VERSION_ID", "").strip('"') == "13"


def suite_python() -> Path:
    # On Debian 13 itself, its own interpreter where it is (with python3-venv installed).
    system = Path(f"/usr/bin/python{MINOR}")
    if _debian_13_host() and runs(system.parent.parent.parent):
        return system
    if CURRENT.is_symlink() and (CURRENT / ".complete").is_file() and runs(CURRENT.resolve()):
        return interpreter(CURRENT.resolve())
    if os.geteuid() != 0:
        raise Unavailable("needs root (it installs patchelf and writes /opt/debian-python)")
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb") or not KEYRING.is_file():
        raise Unavailable(f"needs a Debian host (apt-get, dpkg-deb, {KEYRING})")
    architecture = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
    if architecture.stdout.strip() not in ARCHITECTURES:
        raise Unavailable(f"no recipe for the architecture {architecture.stdout.strip()}")
    tree = install(architecture.stdout.strip())
    link = HOME / ".current"
    link.unlink(missing_ok=True)
    link.symlink_to(tree.name)
    os.replace(link, CURRENT)
    return interpreter(tree)


def main() -> int:
    try:
        print(suite_python())
    except Unavailable as why:
        print(f"debian_python: Debian's CPython {MINOR} cannot be had here: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
