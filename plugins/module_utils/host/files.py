"""The prefix's directories and files, ensured in one pass.

A converge with nothing to do asks the same question of a dozen files; one
module call (modules/local_files.py, whose work is ``ensure``) answers them
all, where a task per file cost a module start each. Every function takes
``check`` and then only reports what it would change.
"""

from __future__ import annotations

import base64
import os
import pwd
import secrets
import shutil
import stat

from ansible_collections.daskhub.deploy.plugins.module_utils import atomic_file


class FilesError(Exception):
    """A path that cannot be made what it should be."""


def account(name: str, check: bool):
    """The passwd entry of ``name``; None for no name, or in check mode for an account a task before creates."""
    if not name:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        if check:
            return None
        raise FilesError(f"owner {name!r} is not an account on this host") from None


def octal_mode(path: str, text) -> int:
    try:
        return int(str(text), 8)
    except ValueError:
        raise FilesError(f"{path}: mode {text!r} is not an octal string such as '0755'") from None


def hand_over(path: str, uid: int, gid: int) -> None:
    """Make ``path`` and everything below it belong to uid:gid (links themselves, never their targets)."""
    os.lchown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


def ensure_directory(path: str, mode: int, check: bool) -> str | None:
    """ "created", "mode" or None (already right)."""
    if os.path.isdir(path):
        if stat.S_IMODE(os.stat(path).st_mode) == mode:
            return None
        if not check:
            os.chmod(path, mode)
        return "mode"
    if os.path.exists(path):
        raise FilesError(f"{path} exists and is not a directory")
    if not check:
        try:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, mode)
        except OSError as err:
            raise FilesError(f"cannot create {path}: {err.strerror}") from None
    return "created"


def ensure_owned_tree(path: str, owner, check: bool) -> bool:
    """Hand ``path`` (a directory) and its contents to ``owner`` when its top is not theirs."""
    if owner is None or (os.path.isdir(path) and os.stat(path).st_uid == owner.pw_uid):
        return False
    if not check:
        hand_over(path, owner.pw_uid, owner.pw_gid)
    return True


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return ""


def _fix_attributes(path: str, mode: int, owner, check: bool) -> bool:
    info = os.stat(path)
    changed = False
    if stat.S_IMODE(info.st_mode) != mode:
        changed = True
        if not check:
            os.chmod(path, mode)
    if owner is not None and info.st_uid != owner.pw_uid:
        changed = True
        if not check:
            os.chown(path, owner.pw_uid, -1)
    return changed


def ensure_file(path: str, content: str, mode: int, owner, check: bool) -> tuple[bool, str | None]:
    """Write ``content`` atomically when it differs; (changed, the content before or None)."""
    before = _read(path)
    if before == content:
        return _fix_attributes(path, mode, owner, check), before
    if check:
        return True, before
    try:
        atomic_file.replace_atomically(path, content.encode("utf-8"), mode, owner.pw_uid if owner is not None else None)
    except OSError as err:
        raise FilesError(f"cannot write {path}: {err.strerror}") from None
    return True, before


def ensure_generated_key(path: str, size: int, encoding: str, owner, check: bool) -> bool:
    """Create a random key file (mode 0600) once; an existing one is kept, only its mode and owner corrected."""
    if os.path.exists(path):
        return _fix_attributes(path, 0o600, owner, check)
    if check:
        return True
    raw = secrets.token_bytes(size)
    text = base64.urlsafe_b64encode(raw).decode() if encoding == "base64" else raw.hex()
    # O_EXCL: never overwrite a key another run created meanwhile.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as err:
        raise FilesError(f"cannot create {path}: {err.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    _fix_attributes(path, 0o600, owner, check)
    return True


def ensure_absent(path: str, check: bool) -> str | None:
    """Remove ``path`` (a directory with everything in it; a link itself, never its target): what it was, or None."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        raise FilesError(f"cannot read {path}: {err.strerror}") from None
    kind = "directory" if stat.S_ISDIR(mode) else "file"
    if not check:
        try:
            if kind == "directory":
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError as err:
            raise FilesError(f"cannot remove {path}: {err.strerror}") from None
    return kind


def ensure(params: dict, check: bool, want_diff: bool) -> dict:
    """What modules/local_files.py does (``params`` are its options), as its result dict."""
    changed_paths, restarts, diffs = [], set(), []
    owners = {}

    # First, so that a path removed here can be made again below.
    for path in params["absent"]:
        kind = ensure_absent(path, check)
        if kind:
            changed_paths.append(path)
            if want_diff:
                diffs.append({"before_header": path, "after_header": path, "before": f"{kind}\n", "after": "absent\n"})

    def owner(name):
        if name not in owners:
            owners[name] = account(name, check)
        return owners[name]

    for path, mode in sorted(params["directories"].items()):
        if ensure_directory(path, octal_mode(path, mode), check):
            changed_paths.append(path)
    for path in sorted(params["owned"]):
        if ensure_owned_tree(path, owner(params["owner"]), check) and path not in changed_paths:
            changed_paths.append(path)
    for secret, entries in ((False, params["files"]), (True, params["secret_files"])):
        for entry in entries:
            path = entry["path"]
            mode = octal_mode(path, entry["mode"])
            changed, before = ensure_file(path, entry["content"], mode, owner(entry["owner"]), check)
            if not changed:
                continue
            changed_paths.append(path)
            restarts.update(entry["restarts"])
            if want_diff and before != entry["content"]:
                hidden = "(secret, not shown)\n"
                shown = (hidden, hidden) if secret else (before or "", entry["content"])
                diffs.append(
                    {
                        "before_header": path if before is not None else f"{path} (absent)",
                        "after_header": path,
                        "before": shown[0] if before is not None else "",
                        "after": shown[1],
                    }
                )
    for entry in params["generated"]:
        key_owner = owner(entry["owner"])
        if ensure_generated_key(entry["path"], entry["size"], entry["encoding"], key_owner, check):
            changed_paths.append(entry["path"])
            restarts.update(entry["restarts"])
    result = {"changed": bool(changed_paths), "changed_paths": changed_paths, "restarts": sorted(restarts)}
    if diffs:
        result["diff"] = diffs
    return result


def run(module) -> dict:
    """The local_files module's work (``module_run.ModuleWork``)."""
    return ensure(module.params, module.check_mode, module._diff)
