"""Reading the Python snippets the playbooks print for users."""

from __future__ import annotations

import ast


def gateway_call(code: str) -> dict:
    """The arguments of a printed `gateway = Gateway(...)` line, as {argument: value} ("address" first)."""
    (statement,) = ast.parse(code).body
    call = statement.value
    assert call.func.id == "Gateway", code
    arguments = {"address": ast.literal_eval(call.args[0])}
    arguments.update({keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords})
    return arguments
