"""The build folder of the Kubernetes target: each release's values and secrets files, written and reported.

``build(params, check)`` is the helm_values module's run: render the
releases (values.py), check them against the chart schemas (schema.py),
write per release a ``values.yaml`` with nothing secret in it and a
``secrets.yaml`` (0600), and return what the release role hands to
``kubernetes.core.helm``, with a diff that never shows a secret.
"""

from __future__ import annotations

import os

from ansible_collections.daskhub.deploy.plugins.module_utils import yaml_io
from ansible_collections.daskhub.deploy.plugins.module_utils.host.files import FilesError, ensure_file
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import releases as helm_releases
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import schema as chart_schema
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import values as helm_values

VALUES_MODE = 0o644
SECRETS_MODE = 0o600


class BuildError(Exception):
    """The site's values cannot be rendered or written; the message names the variable or the file."""


def render_checked(model: dict, secrets: dict, files_dir: str, chart_data_dir: str, validate: bool = True) -> dict:
    """values.render, checked against the chart schemas; every failure a BuildError without a secret in it."""
    try:
        rendered = helm_values.render(model, secrets, files_dir)
        if validate:
            chart_schema.validate(rendered, chart_data_dir)
    except ValueError as err:  # ValuesError, model_validation.ModelError: messages name the variable
        raise BuildError(yaml_io.redact(str(err), secrets)) from None
    except FileNotFoundError as err:  # a file of files_dir
        raise BuildError(str(err)) from None
    except KeyError as err:
        raise BuildError(f"the site model lacks {err}: pass daskhub_model from the daskhub_model role") from None
    return rendered


def secret_placeholders(value):
    """The shape of a secrets mapping, every value replaced by yaml_io.REDACTED."""
    if isinstance(value, dict):
        return {key: secret_placeholders(item) for key, item in value.items()}
    return yaml_io.REDACTED


def _diff(path: str, before: str | None, after: str, secret: bool) -> dict:
    if secret:
        before = "" if before is None else "(secret content, not shown)\n"
        after = "(secret content changed, not shown)\n"
    return {"before_header": path, "after_header": path, "before": before or "", "after": after}


def write_release(release: dict, folder: str, check: bool) -> tuple[bool, list[dict], dict]:
    """Write one release's two files into ``folder`` (nothing in check mode): (changed, diffs, its summary)."""
    values_file = os.path.join(folder, "values.yaml")
    secrets_file = os.path.join(folder, "secrets.yaml")
    files = (
        (values_file, yaml_io.dump_yaml(release["values"]), VALUES_MODE, False),
        (secrets_file, yaml_io.dump_yaml(release["secrets"]), SECRETS_MODE, True),
    )
    if not check:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    changed, diffs = False, []
    for path, content, mode, secret in files:
        try:
            written, before = ensure_file(path, content, mode, None, check)
        except FilesError as err:
            raise BuildError(str(err)) from None
        if written:
            changed = True
            diffs.append(_diff(path, before, content, secret))
    summary = {
        "key": release["key"],
        "name": release["name"],
        "chart": release["chart"],
        "version": release["version"],
        "values_file": values_file,
        "secrets_file": secrets_file,
        # Not "values": Jinja would read item.values as the dict's method.
        "rendered_values": release["values"],
        "secret_keys": secret_placeholders(release["secrets"]),
    }
    return changed, diffs, summary


def build(params: dict, check: bool = False) -> tuple[dict, list[str]]:
    """The helm_values module's run on its parameters: (its return values with ``diff``, its warnings)."""
    model = params["model"]
    rendered = render_checked(
        model, params["secrets"], params["files_dir"], params["chart_data_dir"], validate=params["validate"]
    )
    single = len(rendered["releases"]) == 1
    changed, diffs, releases = False, [], []
    for release in rendered["releases"]:
        folder = params["dest"] if single else os.path.join(params["dest"], release["key"])
        written, release_diffs, summary = write_release(release, folder, check)
        changed = changed or written
        diffs += release_diffs
        releases.append(summary)
    result = {
        "changed": changed,
        "releases": releases,
        "network_policies": rendered["network_policies"],
        "monitoring_objects": rendered["monitoring_objects"],
        "chart_versions": helm_releases.chart_versions(model),
        "gateway_traefik_service": f"traefik-{helm_releases.gateway_fullname(model)}",
        "hub_url": rendered["hub_url"],
        "gateway_address": rendered["gateway_address"],
        "diff": diffs,
    }
    return result, rendered["warnings"]


def run(module) -> dict:
    """The helm_values module's work (``module_run.ModuleWork``): its warnings through the module, the diff
    only with --diff."""
    result, warnings = build(module.params, check=module.check_mode)
    for warning in warnings:
        module.warn(warning)
    if not module._diff:
        del result["diff"]
    return result
