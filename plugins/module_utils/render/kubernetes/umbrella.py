"""Moving a site from the daskhub umbrella chart to composed: blocked unless asked, and the plan."""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes.releases import (
    gateway_fullname,
    releases,
)


def umbrella_move(model: dict, deployed_chart: str, move: bool) -> dict:
    """What to do when the site's release runs the umbrella chart and the model says composed.

    `deployed_chart` is helm's chart of the release named daskhub_release_name
    ("daskhub-2024.1.1", "" when there is none). Returns {"move": bool,
    "blocked": message or "", "plan": [lines]}: a site that did not ask for
    the move is stopped before anything changes (composed is the default for
    new sites, and an existing site must not follow it silently).
    """
    if model["chart_mode"] != "composed" or not str(deployed_chart or "").startswith("daskhub-"):
        return {"move": False, "blocked": "", "plan": []}
    release, namespace = model["release_name"], model["namespace"]
    fullname = gateway_fullname(model)
    hub, gateway = releases(model)
    if not move:
        return {
            "move": False,
            "plan": [],
            "blocked": (
                f"Release {release} in namespace {namespace} runs the umbrella chart {deployed_chart}, but "
                "daskhub_chart_mode is composed (the default for new sites). Nothing was changed. To keep this "
                "site as it is, set daskhub_chart_mode: daskhub in its inventory. To move it to the jupyterhub "
                'and dask-gateway charts, read docs/kubernetes.md ("Moving a site from daskhub to composed") and run '
                "with -e daskhub_kubernetes_move_from_daskhub=true (first with --check --diff)."
            ),
        }
    ip = (model.get("gateway") or {}).get("traefik_load_balancer_ip")
    lb = (model.get("gateway") or {}).get("traefik_service_type") == "LoadBalancer"
    if not lb:
        address = f"Service traefik-{fullname} has no external IP (not a LoadBalancer)"
    elif ip:
        address = f"Service traefik-{fullname} is made again with the pinned loadBalancerIP {ip}"
    else:
        address = (
            f"Service traefik-{fullname} is made again and gets a NEW external IP: pin the current one with "
            "daskhub_gateway_traefik_load_balancer_ip before the move"
        )
    return {
        "move": True,
        "blocked": "",
        "plan": [
            f"Moving {namespace}/{release} from {deployed_chart} to composed:",
            f"1. helm upgrade {release}: {deployed_chart} -> {hub['chart']} {hub['version']}. The hub, proxy and "
            "their Services stay in this release (proxy-public keeps its IP); the hub database PVC hub-db-dir "
            "stays (same name, helm.sh/resource-policy: keep) and the hub upgrades its schema on start "
            "(sqlite-pvc, with a backup beside it).",
            f"2. The gateway's resources (api-, controller-, traefik-{fullname}, its Secrets and ConfigMaps) "
            f"leave release {release}: helm deletes them in that upgrade.",
            f"3. helm install {gateway['name']}: {gateway['chart']} {gateway['version']} makes them again under "
            f"the same names; {address}.",
            "Running Dask clusters lose their gateway while it is replaced: stop them first (playbooks/clusters.yml).",
        ],
    }
