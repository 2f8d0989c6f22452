"""The chart's proxy.https from the model's HTTPS keys, the same keys the local target reads.

letsencrypt: the chart's own ACME client (autohttps) with the model's
directory and contact; manual: the operator's certificate (values) and key
(the secrets file), read from their files on the controller, where the
Kubernetes target's modules run.
"""

from __future__ import annotations

from pathlib import Path

LETSENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"


def https_values(model: dict) -> dict | None:
    """proxy.https from the model's HTTPS keys, the ones the local target reads too (nothing secret)."""
    if not model.get("https_enabled"):
        return None
    https = {"enabled": True, "hosts": list(model.get("https_hosts") or [])}
    if model.get("https_type") == "manual":
        # The key goes to the secrets file (https_secret_values); the chart
        # mounts both into the proxy pod, which serves TLS itself.
        https.update({"type": "manual", "manual": {"cert": Path(model["https_certificate_file"]).read_text()}})
        return https
    letsencrypt = {"contactEmail": model.get("https_letsencrypt_contact_email")}
    # The chart's default is Let's Encrypt's: a site that keeps it keeps its values as they were.
    if model.get("https_acme_directory") not in (None, "", LETSENCRYPT_DIRECTORY):
        letsencrypt["acmeServer"] = model["https_acme_directory"]
    https.update({"type": "letsencrypt", "letsencrypt": letsencrypt})
    return https


def https_secret_values(model: dict) -> dict:
    """The manual certificate's private key, read from its file on the controller; {} otherwise."""
    if not model.get("https_enabled") or model.get("https_type") != "manual":
        return {}
    return {"https": {"manual": {"key": Path(model["https_key_file"]).read_text()}}}
