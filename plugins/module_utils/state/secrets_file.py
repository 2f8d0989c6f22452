"""The secrets store's file: its names and values, its header and closing line, its YAML, its vault.

What state/secrets_store.py reads and writes: a YAML mapping of secret
names (Kubernetes Secret keys) to values, after FILE_HEADER and ending with
the STORE_END line that lists the names (never the values), so that a store
cut short or missing a name is told from a whole one.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.daskhub.deploy.plugins.module_utils.yaml_io import require_yaml

SECRET_BYTES = 32
VAULT_HEADER = b"$ANSIBLE_VAULT"
# Kubernetes Secret keys allow exactly these characters, and the hub and
# gateway charts take these names as Secret keys.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
FILE_HEADER = (
    "# DaskHub secrets store, managed by daskhub.deploy.secrets.\n"
    "# Keep it out of git and mode 0600. Names may be added by hand;\n"
    "# rotate a value with daskhub_secrets_rotate rather than editing it.\n"
)
# The last line of every store written here; lists the names (never values).
STORE_END = "# end of the store; names: "


class SecretsStoreError(Exception):
    """The store cannot be read, parsed, decrypted, locked or written.

    The message names the store's path and never contains a secret value.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"secrets store {path}: {problem}")


def generate_secret() -> str:
    """Return a new secret: 32 random bytes as 64 lowercase hex characters."""
    return secrets.token_hex(SECRET_BYTES)


def _construct_mapping_without_duplicates(loader, node) -> dict[Any, Any]:
    yaml = require_yaml()
    loader.flatten_mapping(node)
    seen: set[str] = set()
    for key_node, _value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate name {key_node.value!r}", key_node.start_mark
                )
            seen.add(key_node.value)
    return loader.construct_mapping(node)


@functools.cache
def store_loader():
    """SafeLoader that refuses duplicate keys.

    PyYAML keeps the last of duplicate keys silently; rewriting such a store
    would drop the other value, so it is reported as corrupt instead.
    """

    class StoreLoader(require_yaml().SafeLoader):
        pass

    StoreLoader.add_constructor(
        require_yaml().resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates
    )
    return StoreLoader


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(
            f"invalid secret name {name!r} in {what}: use letters, digits, '.', '_' and '-' (Kubernetes Secret keys)"
        )
    return str(name)


def check_names(names: Iterable[str], what: str) -> list[str]:
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise ValueError(f"{what} must be a list of secret names")
    result: list[str] = []
    for name in names:
        checked = check_name(name, what)
        if checked not in result:
            result.append(checked)
    return result


def check_values(mapping: Mapping[str, Any] | None, what: str) -> dict[str, str]:
    """Plain-str copy of a name -> value mapping, without empty values.

    Empty values are dropped because an unset operator variable must fall
    back to a generated secret rather than to an empty password.
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{what} must be a mapping of secret name to value")
    result: dict[str, str] = {}
    for name, value in mapping.items():
        checked = check_name(name, what)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            # The type, not the value: this message may be displayed.
            raise ValueError(f"{what}[{checked!r}] must be a string, not {type(value).__name__}")
        # str() turns Ansible's tagged str subclasses into plain str, which
        # yaml.safe_dump can represent.
        result[checked] = str(value)
    return result


def listed_names(text: str) -> list[str] | None:
    lines = text.rstrip("\n").splitlines()
    if not lines or not lines[-1].startswith(STORE_END):
        return None
    return sorted(lines[-1][len(STORE_END) :].split())


def parse(path: str, raw: bytes) -> dict[str, str]:
    """The mapping a (decrypted) store holds; SecretsStoreError naming ``path`` when it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"is not UTF-8 text (invalid byte at offset {exc.start}); is it corrupt?"
        raise SecretsStoreError(path, problem) from None
    yaml = require_yaml()
    loader = None
    try:
        # The constructor already scans for unprintable characters.
        loader = store_loader()(text)
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        # Only the problem and its position: PyYAML's full message quotes
        # the offending line, which may hold a secret.
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SecretsStoreError(path, f"is not valid YAML: {exc.problem}{where}") from None
    except yaml.YAMLError as exc:
        raise SecretsStoreError(path, f"is not valid YAML ({type(exc).__name__})") from None
    finally:
        if loader is not None:
            loader.dispose()

    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SecretsStoreError(path, f"must be a YAML mapping of secret name to value, found a {type(data).__name__}")
    for name, value in data.items():
        if not isinstance(name, str):
            raise SecretsStoreError(path, f"secret names must be strings, found {type(name).__name__} {name!r}")
        if not isinstance(value, str):
            raise SecretsStoreError(
                path, f"the value of {name!r} must be a string, found {type(value).__name__} (quote it in the file)"
            )
    return data


def render(stored: dict[str, str]) -> bytes:
    """A store's plain text: FILE_HEADER, the YAML mapping, the STORE_END line listing its names."""
    body = require_yaml().safe_dump(stored, default_flow_style=False, sort_keys=True, allow_unicode=True, width=4096)
    return (FILE_HEADER + body + STORE_END + " ".join(sorted(stored)) + "\n").encode("utf-8")


def decrypt(path: str, vault: Any, raw: bytes) -> tuple[bytes, tuple[str, Any] | None]:
    """(plain text, the (vault_id, secret) that decrypted it when the vault tells) of an encrypted store."""
    if vault is None:
        raise SecretsStoreError(
            path,
            "is encrypted with Ansible Vault but no vault password was given "
            "(use --vault-password-file, --vault-id or --ask-vault-pass)",
        )
    try:
        if hasattr(vault, "decrypt_and_get_vault_id"):
            plaintext, vault_id, secret = vault.decrypt_and_get_vault_id(raw)
            return bytes(plaintext), (vault_id, secret)
        return bytes(vault.decrypt(raw)), None
    except Exception as exc:  # VaultLib raises several unrelated types
        raise SecretsStoreError(
            path,
            f"cannot be decrypted with the given vault password(s) ({type(exc).__name__}); "
            "check --vault-password-file / --vault-id",
        ) from None


def serialize(
    path: str, stored: dict[str, str], encrypted: bool, vault: Any, vault_id: str | None, vault_used
) -> bytes:
    """The bytes of a store holding ``stored``, encrypted with ``vault`` when ``encrypted``."""
    plaintext = render(stored)
    if not encrypted:
        return plaintext
    if vault is None:
        raise SecretsStoreError(path, "must be written encrypted but no vault password was given")
    vault_id, secret = _encrypt_secret(path, vault, vault_id, vault_used)
    try:
        ciphertext = bytes(vault.encrypt(plaintext, secret=secret, vault_id=vault_id))
    except Exception as exc:  # VaultLib raises several unrelated types
        raise SecretsStoreError(path, f"cannot be encrypted ({type(exc).__name__}: {exc})") from None
    return ciphertext if ciphertext.endswith(b"\n") else ciphertext + b"\n"


def _encrypt_secret(path: str, vault: Any, wanted_id: str | None, vault_used) -> tuple[str | None, Any]:
    """The (vault_id, secret) to encrypt with: ``wanted_id``'s, else the one that decrypted the store."""
    known = list(getattr(vault, "secrets", None) or [])
    if wanted_id is not None:
        for vault_id, secret in known:
            if vault_id == wanted_id:
                return vault_id, secret
        if known:
            ids = ", ".join(str(vault_id) for vault_id, _secret in known)
            raise SecretsStoreError(path, f"no vault secret with vault id {wanted_id!r} (known: {ids})")
        return wanted_id, None
    if vault_used is not None:
        return vault_used
    if known:
        return known[0]
    # A VaultLib-compatible object without a secrets list picks its own.
    return None, None


def vault_from_password(password: str | bytes, vault_id: str = "default") -> Any:
    """A VaultLib holding one password, for use outside ansible-playbook."""
    from ansible.parsing.vault import VaultLib, VaultSecret  # noqa: PLC0415 - Ansible only when vault is used

    secret = VaultSecret(password.encode("utf-8") if isinstance(password, str) else password)
    return VaultLib(secrets=[(vault_id, secret)])
