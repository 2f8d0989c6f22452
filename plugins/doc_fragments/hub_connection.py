# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The hub connection options, documented once (declared once in module_utils/hub/connection.py).

``daskhub.deploy.hub_connection.url``: the hub's URL, of every module that
talks to the hub; ``daskhub.deploy.hub_connection``: the token and the TLS
options, beside it, of the modules that call the hub's API (the action group
``hub``); ``daskhub.deploy.hub_connection.requests``: the timeout,
retries and parallelism of the requests, for a module that lets the play
tune them.

Each fragment is one literal string, as Ansible's documentation tools read
them without running this file (ansible-test's yamllint reads each
assignment's text).
"""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hub_token:
    description:
      - An API token of the hub with the scopes this module needs (its description names them). Never logged.
    type: str
    required: true
    aliases: [api_token, hub_api_token, token]
  validate_certs:
    description:
      - Verify the hub's TLS certificate when O(hub_url) is https.
    type: bool
    default: true
  ca_path:
    description:
      - A CA bundle to verify the hub's certificate with, instead of the system's.
    type: path
"""

    URL = r"""
options:
  hub_url:
    description:
      - The hub's public URL, for example V(http://127.0.0.1:8000) or V(https://daskhub.example.org), with the
        hub's base URL if it has one; the REST API is under C(<hub_url>/hub/api).
      - The REST API root itself (a URL ending in C(/hub/api)) is accepted too.
    type: str
    required: true
    aliases: [api_url, hub_api_url]
"""

    REQUESTS = r"""
options:
  timeout:
    description:
      - Seconds to wait for each API request.
    type: float
    default: 30
  retries:
    description:
      - Retries of a request after a connection error, timeout or 5xx answer, with exponential backoff.
    type: int
    default: 3
  parallelism:
    description:
      - The most C(DELETE) or C(PATCH) requests in flight at once.
    type: int
    default: 8
  unavailable_timeout:
    description:
      - Seconds to keep retrying a request that the proxy in front of the hub answers instead of the hub
        (the hub is down or restarting).
    type: float
    default: 90
"""
