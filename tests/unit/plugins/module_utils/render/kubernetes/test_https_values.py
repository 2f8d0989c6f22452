"""The model's HTTPS keys rendered as the chart's proxy.https, the keys the local target reads too,
validated against the real schemas (../shared/chart-data and the shipped copy)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from support import charts
from support import kubernetes_site as ks
from support.kubernetes_site import hub_section, render

PEBBLE = "https://127.0.0.1:14000/dir"


def chart_data_dirs():
    return [str(ks.CHART_DATA), str(charts.shared_path("chart-data"))]


@pytest.mark.parametrize("mode", ["composed", "daskhub"])
def test_an_acme_directory_other_than_lets_encrypt_is_the_charts_acme_server(mode):
    _, _, rendered = render(daskhub_chart_mode=mode, daskhub_https_acme_directory=PEBBLE)
    https = hub_section(rendered)["proxy"]["https"]
    assert https["type"] == "letsencrypt"
    assert https["letsencrypt"] == {"contactEmail": "daskhub-admins@hep-analysis.example.org", "acmeServer": PEBBLE}
    for chart_data in chart_data_dirs() if mode == "composed" else [str(ks.CHART_DATA)]:
        chart_schema.validate(rendered, chart_data)


def test_lets_encrypt_itself_leaves_the_charts_default_unwritten():
    _, _, rendered = render(daskhub_https_acme_directory="https://acme-v02.api.letsencrypt.org/directory")
    assert "acmeServer" not in hub_section(rendered)["proxy"]["https"]["letsencrypt"]


def test_the_operators_files_are_the_charts_manual_certificate_and_the_key_stays_in_the_secrets(tmp_path):
    cert, key = tmp_path / "site.crt", tmp_path / "site.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nkey-material-never-in-values\n-----END PRIVATE KEY-----\n")
    _, _, rendered = render(
        daskhub_chart_mode="composed",
        daskhub_https_type="manual",
        daskhub_https_certificate_file=str(cert),
        daskhub_https_key_file=str(key),
    )
    https = hub_section(rendered)["proxy"]["https"]
    assert https["type"] == "manual"
    assert https["manual"] == {"cert": cert.read_text()}
    assert hub_section(rendered, "secrets")["proxy"]["https"] == {"manual": {"key": key.read_text()}}
    assert "key-material-never-in-values" not in json.dumps(hub_section(rendered))
    for chart_data in chart_data_dirs():
        chart_schema.validate(rendered, chart_data)
