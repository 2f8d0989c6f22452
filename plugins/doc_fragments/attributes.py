# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The check and diff mode support of the collection's modules, documented once per kind.

``daskhub.deploy.attributes.check_mode_only``: full check mode, no diff
(the module reports what it read or would do, but has no file or list to
compare).
"""

from __future__ import annotations


class ModuleDocFragment:
    CHECK_MODE_ONLY = r"""
attributes:
  check_mode:
    description: Runs in check mode and reports what it read or would change, changing nothing.
    support: full
  diff_mode:
    description: Shows no diff; there is no file or list to compare.
    support: none
"""
