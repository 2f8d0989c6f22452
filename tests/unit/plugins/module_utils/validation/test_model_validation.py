"""Site-model input rules (plugins/module_utils/validation/): names, unknown variables, types.

The same checks run in the prepare play: tests/integration/test_prepare_model_input.py.
"""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.daskhub.deploy.plugins.filter.site_model import site_model_errors
from ansible_collections.daskhub.deploy.plugins.module_utils.model.variables import known_variables
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import inputs as input_rules
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import names as name_rules
from support.site_models import EXAMPLE_VAULT, MODEL_ROLE, build_model, inventories, rendered_variables

SPEC = yaml.safe_load((MODEL_ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["site_model"][
    "options"
]


def input_errors(**overrides):
    variables = rendered_variables(**overrides)
    values = {name: variables.get(name) for name in SPEC}
    return input_rules.input_errors(values, SPEC, variables, known_variables())


class TaggedStr(str):
    """Stands in for Ansible's tagged str subclass: messages must not show its class."""


@pytest.mark.parametrize("inventory", inventories(), ids=lambda path: path.name)
def test_every_shipped_inventory_passes_every_check(inventory):
    # The one thing an operator must replace: the example site's vault.yml placeholder.
    variables = rendered_variables(inventory, **EXAMPLE_VAULT)
    values = {name: variables.get(name) for name in SPEC}
    assert input_rules.input_errors(values, SPEC, variables, known_variables()) == []
    assert site_model_errors(build_model(inventory, **EXAMPLE_VAULT), values, list(variables)) == []


def test_the_example_sites_placeholder_secret_is_refused():
    example = next(path for path in inventories() if path.name == "example-site")
    errors = model_validation.validate(build_model(example))
    assert [e for e in errors if e.startswith("daskhub_oauth_client_secret: still a placeholder")], errors


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("carol smith", "contains whitespace"),
        ("tab\there", "contains whitespace"),
        ("a/b", "contains '/'"),
        ("q?x", "contains '?'"),
        ("Alice", "has capitals: JupyterHub lowercases login names, write 'alice'"),
        ("", "must not be empty"),
        ("..", "is only dots"),
        (12, "must be a string, got 12 (quote it)"),
    ],
)
def test_names_jupyterhub_would_refuse_or_change(name, problem):
    assert problem in name_rules.name_problem(name)


@pytest.mark.parametrize("name", ["alice", "a.b@example.org", "1bob", "x" * 40, "dr-who_2"])
def test_names_jupyterhub_keeps_as_written(name):
    assert name_rules.name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("1bob", "not a valid system account name"),
        ("a.b@example.org", "not a valid system account name"),
        ("x" * 33, "longer than 32 characters"),
    ],
)
def test_system_accounts_follow_useradd(name, problem):
    assert problem in name_rules.name_problem(name, system_accounts=True)
    assert name_rules.name_problem("x" * 32, system_accounts=True) is None


def test_system_account_rules_apply_to_the_local_target_only():
    model = build_model(daskhub_users=["1bob"])
    assert model_validation.validate(model, {"system_accounts": True}) == [
        "daskhub_users[0]: '1bob' is not a valid system account name (daskhub_local_system_users: a lowercase "
        "letter or '_', then lowercase letters, digits, '_' or '-')"
    ]
    kubernetes = build_model(daskhub_users=["1bob"], daskhub_target="kubernetes")
    assert model_validation.validate(kubernetes, {"system_accounts": True}) == []


def test_auto_system_accounts_follow_who_runs_the_play():
    model = build_model(daskhub_users=["1bob"])
    as_root = model_validation.validate(model, {"system_accounts": "auto", "run_as_root": True})
    assert [error.split(":")[0] for error in as_root] == ["daskhub_users[0]"]
    assert model_validation.validate(model, {"system_accounts": "auto", "run_as_root": False}) == []


def test_every_name_list_is_checked():
    model = build_model(daskhub_users=["ok", "Bad"], daskhub_admin_users=["a b"], daskhub_blocked_users=["x/y"])
    errors = model_validation.validate(model)
    assert [error.split(":")[0] for error in errors] == [
        "daskhub_users[1]",
        "daskhub_admin_users[0]",
        "daskhub_blocked_users[0]",
    ]


def test_an_unknown_variable_names_the_closest_known_one():
    assert input_errors(daskhub_gatway_worker_cores=4) == [
        "daskhub_gatway_worker_cores: not a variable of this project (did you mean daskhub_gateway_worker_cores?); "
        "name site-specific variables daskhub_site_*"
    ]


def test_an_unknown_variable_far_from_any_known_one_gets_no_guess():
    (error,) = input_errors(daskhub_zzzz=1)
    assert error.startswith("daskhub_zzzz: not a variable of this project; ")


def test_rendered_variables_and_project_facts_are_not_unknown():
    assert input_errors(daskhub_site_anything=1, daskhub_local_paths={}, daskhub_secrets_rotate=[]) == []


def test_type_errors_read_as_the_user_wrote_them():
    errors = input_errors(
        daskhub_singleuser_start_timeout=TaggedStr("soon"),
        daskhub_users=TaggedStr("alice,bob"),
        daskhub_https_enabled=TaggedStr("maybe"),
        daskhub_singleuser_extra_env=["A=1"],
        daskhub_target=TaggedStr("vm"),
        daskhub_gateway_worker_cores={"default": "two", "min": 1, "max": 4, "maxx": 5},
    )
    assert errors == [
        'daskhub_target: must be one of local, kubernetes, got "vm"',
        'daskhub_users: must be a list, got "alice,bob"',
        'daskhub_https_enabled: must be true or false, got "maybe"',
        'daskhub_singleuser_start_timeout: must be a whole number, got "soon"',
        'daskhub_singleuser_extra_env: must be a mapping, got ["A=1"]',
        "daskhub_gateway_worker_cores: unknown key 'maxx' (did you mean max?)",
        'daskhub_gateway_worker_cores.default: must be a number, got "two"',
    ]


def test_ansible_conversions_stay_accepted():
    assert (
        input_errors(
            daskhub_singleuser_start_timeout="300",
            daskhub_https_enabled="yes",
            daskhub_chart_version=2024.1,
            daskhub_gateway_worker_cores={"default": "1", "min": 1, "max": 4},
        )
        == []
    )


def test_elements_and_required_suboptions_are_checked():
    errors = input_errors(
        daskhub_singleuser_extra_volumes=[["not", "a", "mapping"]],
        daskhub_singleuser_profiles=[{"description": "no name"}],
    )
    assert errors == [
        "daskhub_singleuser_profiles[0].display_name: required",
        'daskhub_singleuser_extra_volumes[0]: must be a mapping, got ["not", "a", "mapping"]',
    ]


def test_a_secret_of_the_wrong_type_is_named_but_not_shown():
    assert input_errors(daskhub_dummy_password=["hunter2"]) == ["daskhub_dummy_password: must be a string"]


def test_type_errors_come_with_the_cross_field_problems():
    variables = rendered_variables(
        daskhub_gateway_worker_cores={"default": 9, "min": 1, "max": 4},
        daskhub_singleuser_profiles="gpu",
        daskhub_users=["carol smith"],
    )
    values = {name: variables.get(name) for name in SPEC}
    model = build_model(
        daskhub_gateway_worker_cores={"default": 9, "min": 1, "max": 4},
        daskhub_singleuser_profiles="gpu",
        daskhub_users=["carol smith"],
    )
    errors = site_model_errors(model, values, list(variables))
    assert 'daskhub_singleuser_profiles: must be a list, got "gpu"' in errors
    assert "daskhub_users[0]: 'carol smith' contains whitespace, which JupyterHub user names cannot" in errors
    assert "daskhub_gateway_worker_cores: needs min <= default <= max, got min=1 default=9 max=4" in errors


def test_assert_valid_lists_every_problem():
    with pytest.raises(model_validation.ModelError) as raised:
        model_validation.assert_valid(build_model(daskhub_users=["A"], daskhub_gateway_worker_image="no-tag"))
    message = str(raised.value)
    assert "daskhub_users[0]" in message
    assert "daskhub_gateway_worker_image" in message
