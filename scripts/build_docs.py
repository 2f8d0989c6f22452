"""Build the docs site into build/docs/html: the guides of docs/ and the collection reference.

1. ``antsibull-docs lint-collection-docs --plugin-docs`` checks every module's,
   filter's, lookup's, callback's and role's documentation against antsibull-docs' schema
   and its references (O(), RV(), M(), P() to this collection).
2. ``antsibull-docs collection --use-current`` renders that reference as
   reStructuredText; an error page (documentation it could not read) fails.
3. The Sphinx source tree, build/docs/tree/docs: a copy of docs/ (the guides,
   Markdown read by MyST), the reference under collections/, and, unless
   docs/index.md exists, an index listing the guides (the known ones in their
   reading order, then any other page of docs/) and the reference. The other
   top-level entries of the repository are linked beside it, so a guide's
   link to ``../roles/...`` resolves to the real file.
4. ``sphinx-build -W``: every warning is an error, among them a link to a page
   or a heading that does not exist (a guide links another as
   ``[text](other.md#heading)``, the reference as
   ``[text](collections/daskhub/deploy/index.rst)``).

Offline: links to other collections' plugins (ansible.builtin,
kubernetes.core) resolve through an intersphinx inventory this script writes
from the reference's own references, pointing at docs.ansible.com; nothing
is downloaded. Prints the page count; exits non-zero on any problem.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIG = DOCS / "sphinx"
OUT = ROOT / "build" / "docs"
TREE = OUT / "tree"
SOURCE = TREE / "docs"
HTML = OUT / "html"
COLLECTION = "daskhub.deploy"
COLLECTION_PATH = ROOT / ".collections" / "ansible_collections" / "daskhub" / "deploy"
# The guides in reading order; a page not listed here comes after them, by name.
GUIDES = [
    "install",
    "quick-start",
    "site-model",
    "kubernetes",
    "local",
    "operations",
    "security",
    "troubleshooting",
    "notebook-users",
    "development",
]
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
# Pages of the Ansible docs that antsibull-docs' pages link to by label.
ANSIBLE_LABELS = {
    "common_return_values": ("reference_appendices/common_return_values.html", "Return Values"),
    "action_plugins": ("plugins/action.html", "Action plugins"),
    "callback_plugins": ("plugins/callback.html", "Callback plugins"),
    "ansible_configuration_settings": ("reference_appendices/config.html", "Ansible Configuration Settings"),
}
EXTERNAL_REF = re.compile(r"<(ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.([a-z0-9_]+)_([a-z_]+))>")


def run(*command: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def environment() -> dict:
    env = dict(os.environ)
    # This venv's tools first (ansible-doc, antsibull-docs); this repository's ansible.cfg finds the collection.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    return env


def lint(env: dict) -> list[str]:
    result = run(
        "antsibull-docs",
        "lint-collection-docs",
        "--plugin-docs",
        "--validate-collection-refs=self",
        "--skip-rstcheck",
        str(COLLECTION_PATH),
        env=env,
    )
    output = (result.stdout + result.stderr).strip()
    if output or result.returncode:
        return [output or f"antsibull-docs lint-collection-docs exited {result.returncode}"]
    return []


def render_reference(env: dict) -> list[str]:
    """The reference's reStructuredText under SOURCE/collections; problems as lines."""
    result = run(
        "antsibull-docs",
        "--config-file",
        str(CONFIG / "antsibull-docs.cfg"),
        "collection",
        "--use-current",
        "--dest-dir",
        str(SOURCE),
        COLLECTION,
        env=env,
    )
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    if result.returncode or errors:
        return errors or [f"antsibull-docs collection exited {result.returncode}: {result.stderr.strip()}"]
    return []


def assemble_tree() -> None:
    """SOURCE: a copy of docs/ (without the build's configuration); the repository's other entries beside it."""
    if TREE.exists():
        shutil.rmtree(TREE)
    TREE.mkdir(parents=True)
    for entry in sorted(ROOT.iterdir()):
        if entry.name not in ("docs", "build") and not entry.name.startswith("."):
            (TREE / entry.name).symlink_to(entry)
    shutil.copytree(DOCS, SOURCE, ignore=shutil.ignore_patterns("sphinx", "__pycache__"))
    # antsibull-docs writes only into a folder nobody else may write to.
    SOURCE.chmod(0o700)


def write_index() -> None:
    if (SOURCE / "index.md").exists() or (SOURCE / "index.rst").exists():
        return
    pages = {path.stem for path in SOURCE.glob("*.md")}
    ordered = [name for name in GUIDES if name in pages] + sorted(pages - set(GUIDES))
    lines = [
        "# DaskHub deployer",
        "",
        "The Ansible collection `daskhub.deploy` deploys JupyterHub with Dask Gateway from one site model,",
        "on one host (the `local` target) or on Kubernetes with Helm (the `kubernetes` target).",
        "",
        "```{toctree}",
        ":maxdepth: 2",
        ":caption: Guides",
        "",
        *ordered,
        "```",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        ":caption: Reference",
        "",
        "collections/daskhub/deploy/index",
        "collections/index_module",
        "collections/index_filter",
        "collections/index_lookup",
        "collections/index_callback",
        "collections/index_role",
        "collections/environment_variables",
        "```",
        "",
    ]
    (SOURCE / "index.md").write_text("\n".join(lines), encoding="utf-8")


def write_inventory() -> Path:
    """An intersphinx inventory of the other collections' plugins the reference links to."""
    labels = {(label, uri, title) for label, (uri, title) in ANSIBLE_LABELS.items()}
    for path in (SOURCE / "collections").rglob("*.rst"):
        for label, namespace, name, plugin, kind in EXTERNAL_REF.findall(path.read_text(encoding="utf-8")):
            if f"{namespace}.{name}" != COLLECTION:
                uri = f"collections/{namespace}/{name}/{plugin}_{kind}.html"
                labels.add((label, uri, f"{namespace}.{name}.{plugin}"))
    body = "".join(f"{label} std:label -1 {uri} {title}\n" for label, uri, title in sorted(labels))
    header = (
        "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    inventory = OUT / "ansible_devel.inv"
    inventory.write_bytes(header.encode() + zlib.compress(body.encode()))
    return inventory


def sphinx(env: dict, inventory: Path) -> list[str]:
    if HTML.exists():
        shutil.rmtree(HTML)
    result = run(
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        "-c",
        str(CONFIG),
        "-d",
        str(OUT / "doctrees"),
        str(SOURCE),
        str(HTML),
        env=dict(env, DASKHUB_DOCS_INVENTORY=str(inventory)),
    )
    if result.returncode:
        return [result.stderr.strip() or result.stdout.strip() or f"sphinx-build exited {result.returncode}"]
    return []


def main() -> int:
    env = environment()
    OUT.mkdir(parents=True, exist_ok=True)
    problems = lint(env)
    if not problems:
        assemble_tree()
        problems = render_reference(env)
    if not problems:
        write_index()
        problems = sphinx(env, write_inventory())
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    pages = [path for path in HTML.rglob("*.html") if path.name not in ("search.html", "genindex.html")]
    guides = len(list(DOCS.glob("*.md")))
    print(f"docs: {len(pages)} pages ({guides} from docs/*.md) in {HTML.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
