"""Action plugin daskhub.deploy.secrets: ensure named secrets in the per-site store.

It runs entirely on the controller, where the store lives; the logic is in
module_utils/secrets_store.py. Documentation: plugins/modules/secrets.py.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import isidentifier
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_store import SecretsStore, SecretsStoreError

try:  # ansible-core >= 2.21
    from ansible.plugins.action import VariableLayer
except ImportError:  # pragma: no cover - older ansible-core
    VariableLayer = None

try:  # ansible-core >= 2.19: vaulted variables arrive as EncryptedString
    from ansible.parsing.vault import EncryptedString
except ImportError:  # pragma: no cover - older ansible-core
    EncryptedString = None

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "path": {"type": "path", "required": True},
    "names": {"type": "list", "elements": "str", "required": True},
    "rotate": {"type": "list", "elements": "str", "default": []},
    "provided": {"type": "dict", "default": {}, "no_log": True},
    "authoritative": {"type": "dict", "default": {}, "no_log": True},
    "vault_encrypt": {"type": "bool", "default": False},
    "vault_id": {"type": "str"},
    "fact_name": {"type": "str", "default": "daskhub_secrets"},
}


def _plain_values(mapping: dict[str, Any]) -> dict[str, Any]:
    # A vaulted variable (`!vault`) is an EncryptedString, not a str; str()
    # decrypts it with the play's vault secrets.
    if EncryptedString is None:
        return dict(mapping)
    return {key: str(value) if isinstance(value, EncryptedString) else value for key, value in mapping.items()}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp

        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        unknown = [name for name in args["rotate"] if name not in args["names"]]
        if unknown:
            raise AnsibleActionFail(f"rotate lists secrets that are not in names: {', '.join(unknown)}")
        fact_name = args["fact_name"]
        if not isidentifier(fact_name):
            raise AnsibleActionFail(f"fact_name {fact_name!r} is not a valid variable name")

        # The loader holds what --vault-password-file / --vault-id gave.
        vault = self._loader._vault
        store = SecretsStore(
            self._loader.path_dwim(args["path"]),
            vault=vault if getattr(vault, "secrets", None) else None,
            vault_id=args["vault_id"],
            encrypt=args["vault_encrypt"],
        )
        try:
            outcome = store.ensure(
                args["names"],
                rotate=args["rotate"],
                provided=_plain_values(args["provided"]),
                authoritative=_plain_values(args["authoritative"]),
                check_mode=bool(self._task.check_mode),
            )
        except (SecretsStoreError, ValueError) as exc:
            # A plain failed result rather than a raised exception: no
            # traceback or chained exception can reach the output.
            result.update(failed=True, msg=str(exc), path=store.path)
            return result

        facts = {fact_name: outcome.values}
        result.update(
            changed=outcome.changed,
            path=store.path,
            created=outcome.created,
            rotated=outcome.rotated,
            synced=outcome.synced,
            file_changes=outcome.file_changes,
            ansible_facts=facts,
            # Like the setup module: the default callbacks do not dump this
            # result even at -vvv, so the facts never reach the screen.
            _ansible_verbose_override=True,
        )
        if outcome.changed and self._task.diff:
            result["diff"] = outcome.diff(store.path)
        if VariableLayer is not None:
            # set_fact semantics: a plain host variable that is never written
            # to a persistent fact cache (jsonfile, redis) in clear text.
            self.register_host_variables({}, VariableLayer.CACHEABLE_FACT)
            self.register_host_variables(facts, VariableLayer.EPHEMERAL_FACT)
        return result
