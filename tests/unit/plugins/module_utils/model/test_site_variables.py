"""The one declaration of the site's variables (roles/daskhub_model/meta/variables.yml).

It feeds the model role's daskhub_model, the validation messages and the
site-model reference; with the roles' argument specs and vars it is the set
of known daskhub_* names, so these tests check it against what the
playbooks and roles really set.
"""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.module_utils.model import variables as site_variables
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation
from ansible_collections.daskhub.deploy.plugins.module_utils.validation.inputs import SITE_PREFIX
from support.site_models import REPO_ROOT, build_model, rendered_variables

# Set by the project's action plugins (ansible_facts), which no YAML names.
ACTION_FACTS = {"daskhub_secrets": REPO_ROOT / "plugins" / "action" / "secrets.py"}


class _AnyTag(yaml.SafeLoader):
    """Reads playbooks with tags (!vault, !unsafe) as plain values."""


_AnyTag.add_multi_constructor("!", lambda loader, suffix, node: None)


def _role_options() -> dict[str, set[str]]:
    options = {}
    for specs in sorted(REPO_ROOT.glob("roles/*/meta/argument_specs.yml")):
        names = set()
        for entry_point in yaml.safe_load(specs.read_text())["argument_specs"].values():
            names.update(entry_point.get("options") or {})
        options[specs.parent.parent.name] = names
    return options


def _set_names(node, found: set[str]) -> None:
    """Names a playbook or task file sets: registers, set_fact keys, vars of plays, roles and tasks."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "register" and isinstance(value, str):
                found.add(value)
            elif key in ("ansible.builtin.set_fact", "set_fact", "vars") and isinstance(value, dict):
                found.update(name for name in value if name != "cacheable")
            _set_names(value, found)
    elif isinstance(node, list):
        for item in node:
            _set_names(item, found)


def _names_the_project_sets() -> dict[str, set[str]]:
    """{daskhub_* name: files}, from every playbook, role task file and Molecule scenario (inventories too)."""
    found: dict[str, set[str]] = {}
    paths = [
        REPO_ROOT / "site.yml",
        *(path for folder in ("playbooks", "roles", "molecule") for path in (REPO_ROOT / folder).rglob("*.yml")),
    ]
    for path in paths:
        relative = path.relative_to(REPO_ROOT)
        if relative.parts[0] == "roles" and relative.parts[2] in ("defaults", "vars", "meta"):
            continue  # declarations: argument_specs, vars/main.yml
        document = yaml.load(path.read_text(), Loader=_AnyTag)  # noqa: S506  a safe loader
        names: set[str] = set()
        if {"group_vars", "host_vars"} & set(relative.parts):
            names.update(document or {})
        else:
            _set_names(document, names)
        for name in names:
            if name.startswith("daskhub_"):
                found.setdefault(name, set()).add(str(relative))
    return found


def test_every_model_option_has_a_line_in_the_declaration():
    declared = site_variables.model_inputs()
    options = set(site_variables.model_spec())
    assert sorted(options - set(declared)) == []
    # The rest are other roles' options the model reads (daskhub_user_sync_groups).
    other_roles = set().union(*_role_options().values()) - options
    assert sorted(set(declared) - options - other_roles) == []


def test_the_model_is_the_declaration():
    model = build_model()
    fields = {field for fields in site_variables.model_inputs().values() for field in fields}

    def leaves(node, prefix=""):
        for key, value in node.items():
            if isinstance(value, dict) and f"{prefix}{key}" not in fields:
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    assert sorted(leaves(model)) == sorted(fields)
    assert site_variables.variable_of("singleuser.image_tag") == "daskhub_singleuser_image_tag"
    assert site_variables.variable_of("oauth.client_secret_set") == "daskhub_oauth_client_secret"
    with pytest.raises(KeyError, match=r"no variable feeds the model field 'singleuser\.nothing'"):
        site_variables.variable_of("singleuser.nothing")


def test_secrets_feed_the_model_only_through_a_derivation():
    secret_options = [name for name, spec in site_variables.model_spec().items() if spec.get("no_log")]
    assert secret_options, "the model role declares its secrets no_log"
    for name in secret_options:
        derivations = site_variables.model_inputs()[name].values()
        assert all(derivations), f"{name} would carry its value into the model"
    secret = "not-in-the-model-0123456789"
    model = build_model(
        daskhub_oauth_client_secret=secret, daskhub_dummy_password=f"  {secret}  ", daskhub_user_sync_groups={"g": {}}
    )
    assert secret not in repr(model)
    assert model["oauth"]["client_secret_set"] is True
    assert (model["dummy_password_set"], model["dummy_password_length"], model["manage_groups"]) == (
        True,
        len(secret),
        True,
    )


def test_a_variable_the_play_lacks_feeds_an_empty_field():
    model = site_variables.build_model({})
    assert model["manage_groups"] is False
    assert model["dummy_password_length"] == 0
    assert model["singleuser"]["image_tag"] is None


def test_messages_name_the_variable_the_declaration_gives(monkeypatch):
    """Renamed in the declaration, the message follows: no message spells the name by hand."""
    renamed = {**site_variables.model_inputs(), "daskhub_user_image_tag": {"singleuser.image_tag": None}}
    del renamed["daskhub_singleuser_image_tag"]
    monkeypatch.setattr(site_variables, "model_inputs", lambda: renamed)
    site_variables._variables_by_field.cache_clear()
    try:
        errors = model_validation.validate(site_variables.build_model(rendered_variables(daskhub_user_image_tag="")))
    finally:
        monkeypatch.undo()
        site_variables._variables_by_field.cache_clear()
    assert any(error.startswith("daskhub_user_image_tag: required") for error in errors), errors


def test_every_name_the_project_sets_is_known():
    known = site_variables.known_variables()
    unknown = {
        name: sorted(files)
        for name, files in _names_the_project_sets().items()
        if name not in known and not name.startswith(SITE_PREFIX)
    }
    assert unknown == {}, "declare them under facts: in roles/daskhub_model/meta/variables.yml"


def test_every_declared_fact_is_still_set_and_no_option_is_declared_twice():
    facts = site_variables.declaration()["facts"]
    assert len(facts) == len(set(facts))
    set_somewhere = set(_names_the_project_sets())
    for name, source in ACTION_FACTS.items():
        assert f'"{name}"' in source.read_text()
    assert sorted(set(facts) - set_somewhere - set(ACTION_FACTS)) == []
    role_vars = set()
    for path in REPO_ROOT.glob("roles/*/vars/main.yml"):
        role_vars.update(yaml.safe_load(path.read_text()) or {})
    options = set().union(*_role_options().values())
    assert sorted(set(facts) & (options | role_vars)) == []


def test_known_names_are_declarations_not_words_in_files():
    known = site_variables.known_variables()
    # A module's name, a comment's prefix and a Molecule scenario's variable are no variables.
    assert {"daskhub_health", "daskhub_kubernetes_", "daskhub_site_kind_ephemeral"}.isdisjoint(known)
    assert {"daskhub_local_paths", "daskhub_user_sync_groups", "daskhub_model_errors"} <= known


def test_a_module_without_the_declaration_names_the_model_field(monkeypatch, tmp_path):
    """helm_values re-checks the model inside its module, which runs from a copy of module_utils only."""
    model = build_model()
    model["singleuser"]["image_tag"] = ""
    monkeypatch.setattr(site_variables, "DECLARATION", tmp_path / "absent" / "variables.yml")
    assert site_variables.variable_of("singleuser.image_tag") == "daskhub_model.singleuser.image_tag"
    errors = model_validation.validate(model)
    assert any(error.startswith("daskhub_model.singleuser.image_tag: required") for error in errors), errors


def test_each_scheduled_job_reads_the_settings_the_declaration_names():
    """A job's settings (daskhub_backup_schedule_dir, ...) are known names, and role daskhub_schedule reads each."""
    schedules = site_variables.declaration()["schedules"]
    role = REPO_ROOT / "roles" / "daskhub_schedule"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    read = {
        name.removeprefix("daskhub_schedule_")
        for name, value in defaults.items()
        if "daskhub_schedule_settings ~ '_" + name.removeprefix("daskhub_schedule_") + "'" in str(value)
    }
    assert sorted(read) == sorted(schedules["settings"])
    assert set(schedules["settings"]) | {"cron", "interval_minutes"} <= {
        name.removeprefix("daskhub_schedule_") for name in _role_options()["daskhub_schedule"]
    }
    known = site_variables.known_variables()
    # The names sites set before the three schedule roles became one.
    assert {
        "daskhub_backup_schedule_dir",
        "daskhub_backup_schedule_cron_file",
        "daskhub_certificates_schedule_cron",
        "daskhub_certificates_schedule_extra_args",
        "daskhub_user_sync_schedule_state",
        "daskhub_user_sync_schedule_interval_minutes",
        "daskhub_user_sync_schedule_systemd_dir",
        "daskhub_user_sync_schedule_status_file",
    } <= known
    assert "daskhub_backup_schedule_interval_minutes" not in known
