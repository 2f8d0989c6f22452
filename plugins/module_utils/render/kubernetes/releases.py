"""The Helm releases of a site, per chart mode, their chart versions, and the
gateway's in-cluster names and addresses.
"""

from __future__ import annotations

from ansible_collections.daskhub.deploy.plugins.module_utils.model.gateway import GATEWAY_PREFIX

# The published daskhub releases and the subchart versions they pin
# (Chart.yaml dependencies); validation needs the subcharts' schemas.
UMBRELLA_SUBCHARTS = {
    "2024.1.1": {"jupyterhub": "3.2.1", "dask-gateway": "2024.1.0"},
}
SECTIONS = ("jupyterhub", "dask-gateway")


class ValuesError(ValueError):
    """The rendered values cannot be used; the message says which key and why."""


# --- Addresses shared by the renderers and the summary ------------------------


def gateway_fullname(model: dict) -> str:
    """The dask-gateway resources' name stem; the same in both chart modes."""
    release = model["release_name"]
    return release if "dask-gateway" in release else f"{release}-dask-gateway"


def gateway_service_url(model: dict) -> str:
    """Where the hub proxies /services/dask-gateway to (the gateway's traefik)."""
    return f"http://traefik-{gateway_fullname(model)}.{model['namespace']}"


def gateway_proxy_address(model: dict) -> str:
    return f"gateway://traefik-{gateway_fullname(model)}.{model['namespace']}:80"


def gateway_internal_address(model: dict) -> str:
    # As the umbrella's 00-add-dask-gateway-values: with HTTPS the public
    # proxy speaks TLS only, so pods use the internal proxy-http service.
    if model.get("https_enabled") and model.get("https_hosts"):
        return f"http://proxy-http:8000{GATEWAY_PREFIX}/"
    return f"http://proxy-public{GATEWAY_PREFIX}"


def chart_versions(model: dict) -> dict:
    """Versions of jupyterhub and dask-gateway the site runs, per chart mode."""
    if model["chart_mode"] == "composed":
        return {
            "jupyterhub": str(model["jupyterhub_chart_version"]),
            "dask-gateway": str(model["dask_gateway_chart_version"]),
        }
    version = str(model["chart_version"])
    if version not in UMBRELLA_SUBCHARTS:
        raise ValuesError(
            f"daskhub_chart_version: {version} is not a daskhub release this project knows the subcharts of "
            f"(known: {', '.join(sorted(UMBRELLA_SUBCHARTS))}); use daskhub_chart_mode: composed for other versions"
        )
    return dict(UMBRELLA_SUBCHARTS[version])


def releases(model: dict) -> list[dict]:
    """The Helm releases of the site, in install order.

    In composed mode the gateway release is named <release>-dask-gateway so
    that its resources get the same names as under the umbrella chart.
    """
    versions = chart_versions(model)
    if model["chart_mode"] == "composed":
        return [
            {
                "key": "jupyterhub",
                "name": model["release_name"],
                "chart": model["jupyterhub_chart_name"],
                "version": versions["jupyterhub"],
                "sections": {"": ("jupyterhub", versions["jupyterhub"])},
                "defaults": None,
            },
            {
                "key": "dask-gateway",
                "name": gateway_fullname(model),
                "chart": model["dask_gateway_chart_name"],
                "version": versions["dask-gateway"],
                "sections": {"": ("dask-gateway", versions["dask-gateway"])},
                "defaults": None,
            },
        ]
    return [
        {
            "key": "daskhub",
            "name": model["release_name"],
            "chart": model["chart_name"],
            "version": str(model["chart_version"]),
            "sections": {section: (section, versions[section]) for section in SECTIONS},
            "defaults": ("daskhub", str(model["chart_version"])),
        }
    ]
