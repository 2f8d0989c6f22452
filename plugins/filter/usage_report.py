"""Filters of playbooks/usage-report.yml (plugins/module_utils/render/usage_report.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.daskhub.deploy.plugins.module_utils.render import usage_report


def _period(month="", start="", end=""):
    try:
        return usage_report.period(month, start, end)
    except ValueError as err:
        raise AnsibleFilterError(f"usage-report: month=YYYY-MM or start=/end=YYYY-MM-DD: {err}") from None


class FilterModule:
    """daskhub.deploy filters of the usage report."""

    def filters(self):
        return {
            "usage_period": _period,
            "usage_queries": usage_report.queries,
            "usage_table": usage_report.table,
            "usage_csv": usage_report.to_csv,
        }
