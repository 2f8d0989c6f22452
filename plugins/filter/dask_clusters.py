"""Filters over Dask clusters: records from DaskCluster resources, selection, summary lines."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.daskhub.deploy.plugins.module_utils.hub import dask_clusters


def _from_kubernetes(daskclusters, pods=None, include_stopped=False):
    return dask_clusters.from_kubernetes(daskclusters, pods or [], include_stopped=include_stopped)


def _select(clusters, older_than=None, users=None, orphaned=False):
    # A bad age must stop the play before anything is deleted, with its value.
    try:
        return dask_clusters.select(clusters, older_than=older_than, users=users, orphaned=orphaned)
    except ValueError as err:
        raise AnsibleFilterError(f"older_than: {err}") from None


class FilterModule:
    """daskhub.deploy filters over Dask clusters (playbooks/clusters.yml)."""

    def filters(self):
        return {
            "dask_clusters_from_kubernetes": _from_kubernetes,
            "dask_clusters_select": _select,
            "dask_clusters_summary": dask_clusters.summary,
            "dask_clusters_mark_orphaned": dask_clusters.mark_orphaned,
        }
