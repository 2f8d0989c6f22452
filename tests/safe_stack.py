"""The deployed local-target stack of the issue-11 tests (secrets store, removed users' clusters).

tests/ops_stack.py's stack on ports 43000-43004 and a /tmp prefix of its
own, so it never meets the day-2 tests' stack or another engineer's.
"""

from __future__ import annotations

import ops_stack

PORTS = {"hub": 43000, "hub_api": 43001, "proxy_api": 43002, "gateway": 43003, "gateway_api": 43004}


def shared(request) -> ops_stack.OpsStack:
    return ops_stack.shared(request, ports=PORTS, tmp_prefix="daskhub-safe-")
