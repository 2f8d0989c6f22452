"""The deployed local-target stack of the issue-11 tests (secrets store, removed users' clusters).

They change the stack and put it back, so they share the session's
``local_stack`` (tests/support/stacks.py) and its xdist group.
"""

from __future__ import annotations

from support.stacks import LOCAL_STACK, LocalStack

MARKS = [LOCAL_STACK]


def shared(request) -> LocalStack:
    return request.getfixturevalue("local_stack")
