"""network-config-analyzer (nca) on templated NetworkPolicy objects.

nca pins PyYAML 6.0.2, which the controller venv's kubernetes client
refuses, so it gets a venv of its own (support.chart_envs), made once from the
pins in requirements/network-analyzer.txt (PyPI, like every other package).
`connections()` runs nca's connectivity map over pods and policies and
returns who may reach whom, on which ports.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from support.chart_envs import pinned_env

REPO = Path(__file__).resolve().parents[2]
_NAME_LABEL = "kubernetes.io/metadata.name"  # the label the API server gives every namespace
PINS = REPO / "requirements" / "network-analyzer.txt"


def nca() -> Path:
    """The nca executable, installed from the pinned requirements on first use (support.chart_envs)."""
    return pinned_env("network-analyzer", PINS) / "bin" / "nca"


def connections(policies: list[dict], pods: list[dict], namespaces: list[str], workdir: Path) -> dict:
    """{(source, destination): connection} from nca's connectivity map.

    Sources and destinations are `<namespace>/<pod>`, or IP ranges as nca
    prints them; the connection is nca's text, e.g. "All connections" or
    "{protocols:TCP,dst_ports:8000}". Pairs that cannot connect are absent.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "policies.yaml").write_text(yaml.safe_dump_all(policies) if policies else "")
    (workdir / "pods.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "PodList", "items": pods}))
    namespace_list = {
        "apiVersion": "v1",
        "kind": "NamespaceList",
        "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {_NAME_LABEL: name}}}
            for name in namespaces
        ],
    }
    (workdir / "namespaces.yaml").write_text(yaml.safe_dump(namespace_list))
    result = subprocess.run(
        [
            str(nca()),
            "--connectivity",
            str(workdir / "policies.yaml"),
            "--pod_list",
            str(workdir / "pods.yaml"),
            "--ns_list",
            str(workdir / "namespaces.yaml"),
            "--output_format",
            "txt_no_fw_rules",
            "--output_endpoints",
            "pods",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0 and not result.stdout.strip():
        raise AssertionError(f"nca failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return parse(result.stdout)


def parse(text: str) -> dict:
    """nca's txt_no_fw_rules lines, `<src> => <dst> : <connection>`, as a dict."""
    found = {}
    for line in text.splitlines():
        if " => " not in line or " : " not in line:
            continue
        pair, _, connection = line.partition(" : ")
        source, _, destination = pair.partition(" => ")
        found[(source.strip(), destination.strip())] = connection.strip()
    return found
