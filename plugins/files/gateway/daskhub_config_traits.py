# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The gateway's traits that are plain data: DASKHUB_GATEWAY_SETTINGS["config"] onto c.

On Kubernetes that is the ClusterConfig limits the chart has no value for
(idle timeout, cluster_max_*); on the local target every setting of the
gateway (backend, addresses, database, ClusterConfig). The secrets' traits
go through daskhub_apply_config too, from the local target's 0600 file.

Part of dask-gateway-server's config on both targets (see README.md here).
"""

# ruff: noqa: F821  `c` and DASKHUB_GATEWAY_SETTINGS are the config's globals


def daskhub_apply_config(config, sections: dict) -> None:
    """Set {section: {trait: value}} on a traitlets Config (c)."""
    for section, traits in sections.items():
        for trait, value in traits.items():
            config[section][trait] = value


if "c" in globals():  # run as config (traitlets gives it c), not imported
    daskhub_apply_config(c, DASKHUB_GATEWAY_SETTINGS.get("config", {}))
