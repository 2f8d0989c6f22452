"""The build folder the helm_values module writes (plugins/module_utils/render/kubernetes/build.py).

Real renders of the example site, real files in a temporary folder: the
values file holds nothing secret, the secrets file is 0600, a second build
changes nothing, check mode writes nothing and the diff never shows a secret.
"""

from __future__ import annotations

import stat

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils import yaml_io
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import build
from support import kubernetes_site as ks

FILES_DIR = ks.REPO / "plugins" / "files"


def params(dest, mode="daskhub", **overrides):
    site_model = ks.model("example-site", daskhub_chart_mode=mode, **overrides)
    return {
        "model": site_model,
        "secrets": ks.secrets(site_model),
        "dest": str(dest),
        "chart_data_dir": str(ks.CHART_DATA),
        "files_dir": str(FILES_DIR),
        "validate": True,
    }


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("chart_mode", "folders"), [("daskhub", [""]), ("composed", ["jupyterhub", "dask-gateway"])])
def test_each_release_gets_a_values_file_and_a_private_secrets_file(tmp_path, chart_mode, folders):
    given = params(tmp_path / "build", chart_mode)
    result, warnings = build.build(given)
    assert result["changed"] is True
    assert isinstance(warnings, list)
    assert [release["key"] for release in result["releases"]] == [folder or "daskhub" for folder in folders]
    for release, folder in zip(result["releases"], folders, strict=True):
        values_file = tmp_path / "build" / folder / "values.yaml"
        secrets_file = tmp_path / "build" / folder / "secrets.yaml"
        assert (release["values_file"], release["secrets_file"]) == (str(values_file), str(secrets_file))
        assert (_mode(values_file), _mode(secrets_file)) == (0o644, 0o600)
        assert yaml.safe_load(values_file.read_text()) == release["rendered_values"]
        assert yaml.safe_load(secrets_file.read_text())  # the secrets are in their own file
    text = "".join(path.read_text() for path in (tmp_path / "build").rglob("values.yaml"))
    dumped = repr(result["releases"]) + repr(result["diff"]) + text
    for value in given["secrets"].values():
        assert value not in dumped


def test_a_second_build_changes_nothing_and_a_mode_is_put_back(tmp_path):
    given = params(tmp_path)
    build.build(given)
    result, _ = build.build(given)
    assert (result["changed"], result["diff"]) == (False, [])
    (tmp_path / "secrets.yaml").chmod(0o644)
    result, _ = build.build(given)
    assert result["changed"] is True
    assert [entry["after_header"] for entry in result["diff"]] == [str(tmp_path / "secrets.yaml")]
    assert _mode(tmp_path / "secrets.yaml") == 0o600


def test_check_mode_writes_nothing_and_names_the_changed_secrets_file_only(tmp_path):
    result, _ = build.build(params(tmp_path / "build"), check=True)
    assert result["changed"] is True
    assert not (tmp_path / "build").exists()
    values_diff, secrets_diff = result["diff"]
    assert values_diff["after"] == yaml_io.dump_yaml(result["releases"][0]["rendered_values"])
    assert (secrets_diff["before"], secrets_diff["after"]) == ("", "(secret content changed, not shown)\n")


def test_secret_keys_keep_the_shape_and_hide_every_value():
    placeholders = build.secret_placeholders({"hub": {"services": {"a": {"apiToken": "x"}}}, "cookie": "y"})
    assert placeholders == {"hub": {"services": {"a": {"apiToken": yaml_io.REDACTED}}}, "cookie": yaml_io.REDACTED}


def test_a_model_without_its_keys_is_a_clear_error(tmp_path):
    given = params(tmp_path)
    del given["model"]["release_name"]
    with pytest.raises(build.BuildError, match="the site model lacks 'release_name'"):
        build.build(given)
    assert list(tmp_path.iterdir()) == []
