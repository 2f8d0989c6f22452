"""The per-site secrets store: a YAML file mapping secret names to values.

Used on the controller by the ``daskhub.deploy.secrets`` action plugin, and
importable on its own (it needs PyYAML; Ansible only for vault encryption) so
that its behaviour is unit-tested directly.

Guarantees:

- a missing secret is generated as ``secrets.token_hex(32)`` (what
  ``openssl rand -hex 32`` gives) and kept; names already in the store are
  never deleted, whoever put them there;
- writers serialise on an ``fcntl.flock`` of a sibling lock file and re-read
  the store after taking it, so concurrent runs (several hosts of one play,
  two operators) never lose a secret; the new content goes to a temporary
  file in the same directory that is fsynced and ``os.replace``-d over the
  store, so readers see either the old or the new file, never a torn one;
- the store is mode 0600 (a directory we create is 0700), whatever the umask;
- a corrupt or unreadable store raises ``SecretsStoreError`` naming the path
  and is left exactly as it was; so does an empty, truncated or partial one:
  only a missing store (a first run) is created. A store this module wrote
  ends with a line listing its names (``STORE_END``): a store with the
  header but without that line was cut short, and a name the line lists
  but the store lacks was lost. Either would otherwise regenerate secrets
  the running site still uses (and restart it with new ones);
- an Ansible Vault encrypted store stays encrypted; a plain store is
  encrypted only on request;
- no error message, repr or diff contains a secret value.

The lock, the private directory and the atomic write are state/secrets_disk.py;
the file's format and its vault encryption state/secrets_file.py.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ansible_collections.daskhub.deploy.plugins.module_utils.state import secrets_disk
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_disk import FILE_MODE
from ansible_collections.daskhub.deploy.plugins.module_utils.state.secrets_file import (
    FILE_HEADER,
    STORE_END,
    VAULT_HEADER,
    SecretsStoreError,
    check_names,
    check_values,
    decrypt,
    generate_secret,
    listed_names,
    parse,
    serialize,
)

DEFAULT_LOCK_TIMEOUT = 120.0
_HIDDEN = "<hidden>"
RESTORE_ADVICE = (
    "The file was left untouched. Restore it from your backup of this file (same vault password if it is "
    "encrypted) and run the play again. Only if nothing was ever deployed with it, delete it: the next run "
    "then generates every secret anew."
)


@dataclasses.dataclass(frozen=True)
class EnsureResult:
    """What ``SecretsStore.ensure`` did (or, in check mode, would do).

    Unpacks as the 4-tuple ``values, created, rotated, changed``; the other
    fields describe the change for reports and diffs and hold names only.
    """

    # repr=False: a logged or printed result must not leak the values.
    values: dict[str, str] = dataclasses.field(repr=False)
    created: list[str]
    rotated: list[str]
    changed: bool
    # Names whose stored value was replaced by the authoritative one.
    synced: list[str] = dataclasses.field(default_factory=list)
    # Changes to the file itself (encryption, mode), as short phrases.
    file_changes: list[str] = dataclasses.field(default_factory=list)
    names_before: list[str] = dataclasses.field(default_factory=list)
    names_after: list[str] = dataclasses.field(default_factory=list)
    encrypted_before: bool = False
    encrypted_after: bool = False
    existed: bool = False
    mode_before: int | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.values, self.created, self.rotated, self.changed))

    def diff(self, path: str) -> dict[str, str]:
        """An Ansible ``diff`` of the store that shows names, never values."""
        markers = {name: "<created>" for name in self.created}
        markers.update({name: "<rotated>" for name in self.rotated})
        markers.update({name: "<from the cluster>" for name in self.synced})

        def render(names: Iterable[str], encrypted: bool, mode: int, marked: bool) -> str:
            lines = [f"# mode {mode:04o}, encrypted with Ansible Vault: {'yes' if encrypted else 'no'}"]
            lines += [f"{name}: {markers.get(name, _HIDDEN) if marked else _HIDDEN}" for name in sorted(names)]
            return "\n".join(lines) + "\n"

        before = ""
        if self.existed:
            before = render(self.names_before, self.encrypted_before, self.mode_before or FILE_MODE, marked=False)
        after = render(self.names_after, self.encrypted_after, FILE_MODE, marked=True)
        return {"before_header": path, "after_header": path, "before": before, "after": after}


@dataclasses.dataclass
class _Snapshot:
    data: dict[str, str]
    exists: bool
    encrypted: bool
    mode: int | None
    # (vault_id, secret) that decrypted the store, reused to re-encrypt it.
    vault_used: tuple[str, Any] | None = None
    # Written by this module (starts with FILE_HEADER)?
    managed: bool = False
    # Names its STORE_END line lists; None when it has none.
    sealed_names: list[str] | None = None


class SecretsStore:
    """A YAML secrets store at ``path``.

    ``vault`` is an ``ansible.parsing.vault.VaultLib`` or any object with
    VaultLib-compatible ``encrypt(plaintext, secret=None, vault_id=None)``
    and ``decrypt(vaulttext)`` methods (a ``secrets`` list of
    ``(vault_id, secret)`` pairs and ``decrypt_and_get_vault_id`` are used
    when present). An encrypted store needs it to be read; ``encrypt=True``
    makes a plain store encrypted on the next write. ``vault_id`` picks the
    vault secret used for encryption; by default an encrypted store is
    written back with the secret that decrypted it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        vault: Any = None,
        vault_id: str | None = None,
        encrypt: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        # A symlinked store (say, into an encrypted home) is updated in place
        # instead of having its link replaced by a regular file.
        self.path = os.path.realpath(os.path.expanduser(os.fspath(path)))
        self.lock_path = self.path + ".lock"
        self._vault = vault
        self._vault_id = vault_id
        self._encrypt = encrypt
        self._lock_timeout = lock_timeout

    def _error(self, problem: str) -> SecretsStoreError:
        return SecretsStoreError(self.path, problem)

    # --- reading -----------------------------------------------------------

    def read(self) -> dict[str, str]:
        """The stored mapping (decrypted); empty when the store does not exist."""
        return dict(self._load().data)

    def _load(self) -> _Snapshot:
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise self._error("is not a regular file")
                raw = handle.read()
        except FileNotFoundError:
            return _Snapshot(data={}, exists=False, encrypted=False, mode=None)
        except IsADirectoryError:
            raise self._error("is a directory, not a file") from None
        except OSError as exc:
            raise self._error(f"cannot be read: {exc.strerror or exc}") from None

        if not raw.strip():
            raise self._error(f"is empty ({len(raw)} bytes), so it is damaged, not new. {RESTORE_ADVICE}")
        encrypted = raw.lstrip().startswith(VAULT_HEADER)
        vault_used = None
        if encrypted:
            raw, vault_used = decrypt(self.path, self._vault, raw)
        data = parse(self.path, raw)
        text = raw.decode("utf-8")
        managed = text.startswith(FILE_HEADER.splitlines()[0])
        sealed_names = listed_names(text)
        if not data:
            raise self._error(f"holds no secrets, so it is truncated or damaged, not new. {RESTORE_ADVICE}")
        if managed and sealed_names is None and not text.endswith("\n"):
            raise self._error(f"ends in the middle of a line: it is truncated. {RESTORE_ADVICE}")
        lost = [name for name in sealed_names or () if name not in data]
        if lost:
            raise self._error(f"is partial: it lacks {', '.join(lost)}, which its last line lists. {RESTORE_ADVICE}")
        return _Snapshot(
            data=data,
            exists=True,
            encrypted=encrypted,
            mode=stat.S_IMODE(info.st_mode),
            vault_used=vault_used,
            managed=managed,
            sealed_names=sealed_names,
        )

    # --- ensuring ------------------------------------------------------------

    def ensure(
        self,
        names: Iterable[str],
        rotate: Iterable[str] = (),
        provided: Mapping[str, Any] | None = None,
        authoritative: Mapping[str, Any] | None = None,
        *,
        check_mode: bool = False,
    ) -> EnsureResult:
        """Make sure every name in ``names`` has a value; return them.

        ``rotate`` names get a fresh value. ``provided`` values (operator
        secrets such as an OAuth client secret) are returned as given and
        never written. ``authoritative`` values (read from the running
        cluster) replace differing stored values. Both ignore empty values
        and names not in ``names``. In check mode nothing is written and
        missing or rotated secrets get throw-away values.
        """
        names = check_names(names, "names")
        rotate = check_names(rotate, "rotate")
        unknown = [name for name in rotate if name not in names]
        if unknown:
            raise ValueError(f"rotate lists names that are not in names: {', '.join(unknown)}")
        provided = check_values(provided, "provided")
        authoritative = check_values(authoritative, "authoritative")
        operator_owned = [name for name in rotate if name in provided]
        if operator_owned:
            raise ValueError(
                f"cannot rotate {', '.join(operator_owned)}: the value is provided by the operator; change it there"
            )
        if self._encrypt and self._vault is None:
            raise self._error("vault encryption was requested but no vault password was given")

        if check_mode:
            return self._plan(self._load(), names, rotate, provided, authoritative)[0]

        secrets_disk.make_private_parents(self.path)
        with secrets_disk.exclusive_lock(self.path, self.lock_path, self._lock_timeout):
            # Re-read under the lock: another run may have written since.
            snapshot = self._load()
            result, stored = self._plan(snapshot, names, rotate, provided, authoritative)
            resealed = snapshot.exists and snapshot.sealed_names != sorted(stored)
            if stored != snapshot.data or result.encrypted_after != snapshot.encrypted or resealed:
                self._write(stored, result.encrypted_after, snapshot)
            elif snapshot.mode not in (None, FILE_MODE):
                os.chmod(self.path, FILE_MODE)
        return result

    def _check_complete(self, snapshot: _Snapshot, names: list[str], provided: dict[str, str]) -> None:
        """A store written here but missing its last line was cut short (or is from before that line existed).

        Then every name the site needs must be there: generating a missing
        one would replace a secret the running site may still use.
        """
        if not snapshot.managed or snapshot.sealed_names is not None:
            return
        missing = [name for name in names if name not in snapshot.data and name not in provided]
        if missing:
            raise self._error(
                f"lacks {', '.join(missing)} and its last line ({STORE_END.strip()} ...) is missing: it may be "
                f"truncated. {RESTORE_ADVICE} If these secrets are new to the site, add them to the file as "
                "<name>: '' and the play generates them."
            )

    def _plan(
        self,
        snapshot: _Snapshot,
        names: list[str],
        rotate: list[str],
        provided: dict[str, str],
        authoritative: dict[str, str],
    ) -> tuple[EnsureResult, dict[str, str]]:
        self._check_complete(snapshot, names, provided)
        stored = dict(snapshot.data)
        values: dict[str, str] = {}
        created: list[str] = []
        rotated: list[str] = []
        synced: list[str] = []
        for name in names:
            if name in provided:
                values[name] = provided[name]
                continue
            current = stored.get(name, "")
            if name in rotate:
                stored[name] = generate_secret()
                (rotated if current else created).append(name)
            elif name in authoritative:
                if current != authoritative[name]:
                    stored[name] = authoritative[name]
                    synced.append(name)
            elif not current:
                # An empty stored value is treated as missing: an empty
                # token or password is never what a site wants.
                stored[name] = generate_secret()
                created.append(name)
            values[name] = stored[name]

        encrypted_after = snapshot.encrypted or self._encrypt
        file_changes: list[str] = []
        if snapshot.exists and encrypted_after and not snapshot.encrypted:
            file_changes.append("encrypt with Ansible Vault")
        if snapshot.mode not in (None, FILE_MODE):
            file_changes.append(f"mode {snapshot.mode:04o} -> {FILE_MODE:04o}")
        if snapshot.exists and snapshot.sealed_names != sorted(stored):
            # Names added by hand, or a store from before STORE_END: seal it.
            file_changes.append("record its names in its last line")
        result = EnsureResult(
            values=values,
            created=created,
            rotated=rotated,
            changed=bool(created or rotated or synced or file_changes),
            synced=synced,
            file_changes=file_changes,
            names_before=sorted(snapshot.data),
            names_after=sorted(stored),
            encrypted_before=snapshot.encrypted,
            encrypted_after=encrypted_after,
            existed=snapshot.exists,
            mode_before=snapshot.mode,
        )
        return result, stored

    # --- writing -------------------------------------------------------------

    def _write(self, stored: dict[str, str], encrypted: bool, snapshot: _Snapshot) -> None:
        # Serialise (and encrypt) first: if that fails nothing was touched.
        content = serialize(self.path, stored, encrypted, self._vault, self._vault_id, snapshot.vault_used)
        secrets_disk.replace_atomically(self.path, content)
