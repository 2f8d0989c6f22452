"""The local target's certificate: what it names."""

from __future__ import annotations

import ipaddress


def subject_alt_names(hosts: list) -> list[str]:
    """The certificate request's subjectAltName entries: DNS:<name>, or IP:<address> for an address."""
    names = []
    for entry in hosts or []:
        host = str(entry).strip()
        try:
            names.append(f"IP:{ipaddress.ip_address(host.strip('[]'))}")
        except ValueError:
            names.append(f"DNS:{host}")
    return names
