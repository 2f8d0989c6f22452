# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target's certificate files, read in one pass: which of them a converge has to make again.

A converge of an HTTPS site asks a module per file (the certificate's
directories, the site's CA, the key, the request, the certificate, the ACME
account key) whether it is as it should be: eight module starts, most of the
time of a converge with nothing to do. ``state`` answers all of them in one
call and changes nothing; the role runs the task of a file only when its
answer names a problem. Each check is at least as strict as the task it
stands for, so that a file those tasks would change is never passed over:
where in doubt, it names a problem and the task decides.
"""

from __future__ import annotations

import datetime
import os
import stat

from ansible_collections.daskhub.deploy.plugins.module_utils.host import files as host_files

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError:  # state() names it when a key, a request or a certificate is to be read
    x509 = None

# The key type the tasks make (community.crypto.openssl_privatekey: type ECC).
KEY_CURVES = ("secp256r1",)


MISSING_CRYPTOGRAPHY = (
    "the Python library cryptography is missing where this runs (the certificate's tasks need it too)"
)


def _file_problem(entry: dict, kind: str = "file") -> str:
    """What differs in an entry's path's kind, mode and owner ("" when nothing); FilesError for a bad mode."""
    path = entry["path"]
    mode = host_files.octal_mode(path, entry["mode"])
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "missing"
    is_kind = stat.S_ISDIR(info.st_mode) if kind == "directory" else stat.S_ISREG(info.st_mode)
    if not is_kind:
        return f"not a {kind}"
    if stat.S_IMODE(info.st_mode) != mode:
        return f"mode {stat.S_IMODE(info.st_mode):04o}, not {entry['mode']}"
    owner = entry.get("owner") or ""
    if owner:
        # check=True: an account a task before this one creates is no error here, only a problem.
        account = host_files.account(owner, check=True)
        if account is None:
            return f"owner {owner} is not an account yet"
        if info.st_uid != account.pw_uid:
            return f"owned by uid {info.st_uid}, not {owner}"
    return ""


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def private_key_problem(entry: dict):
    """(problem, key): a PEM private key, unencrypted, of a curve in KEY_CURVES."""
    problem = _file_problem(entry)
    if problem:
        return problem, None
    try:
        key = serialization.load_pem_private_key(_read(entry["path"]), password=None)
    except (ValueError, TypeError) as err:
        return f"not an unencrypted PEM private key ({err})", None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in KEY_CURVES:
        return f"not an EC key on {' or '.join(KEY_CURVES)}", None
    return "", key


def _names(extension) -> list[str]:
    """A subjectAltName's entries as the request's options spell them: DNS:<name>, IP:<address>."""
    names = []
    for name in extension.value:
        if isinstance(name, x509.DNSName):
            names.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            names.append(f"IP:{name.value}")
        else:
            names.append(f"other:{name!r}")
    return names


def request_problem(entry: dict, key) -> str:
    """A certificate request signed by ``key``, with no subject and only the subjectAltName entry["names"]."""
    problem = _file_problem(entry)
    if problem:
        return problem
    if key is None:
        return "its key is made again"
    try:
        request = x509.load_pem_x509_csr(_read(entry["path"]))
    except ValueError as err:
        return f"not a PEM certificate request ({err})"
    return _request_differs(request, key, entry["names"])


def _request_differs(request, key, names: list) -> str:
    """What in a readable request differs from the one the task makes ("" when nothing)."""
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if not request.is_signature_valid:
        problem = "its signature is not valid"
    elif request.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        problem = "signed by another key"
    elif len(request.subject):
        problem = f"has the subject {request.subject.rfc4514_string()}"
    else:
        extensions = list(request.extensions)
        only_names = [ext.oid for ext in extensions] == [x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME]
        found = _names(extensions[0]) if only_names else []
        if not only_names or extensions[0].critical:
            problem = "has other extensions than one non-critical subjectAltName"
        elif sorted(found) != sorted(names) or len(set(found)) != len(found):
            problem = f"names {', '.join(found)}, not {', '.join(names)}"
        else:
            problem = ""
    return problem


def certificate_days_left(path: str, now: datetime.datetime) -> float | None:
    """Days until the first certificate of a PEM file (a chain's leaf) expires; None when none can be read."""
    try:
        certificate = x509.load_pem_x509_certificate(_read(path))
    except (OSError, ValueError):
        return None
    return (certificate.not_valid_after_utc - now).total_seconds() / 86400


def state(params: dict, now: datetime.datetime | None = None) -> dict:
    """The module's work: ``problems`` (the name of each entry a task has to make again -> why) and ``certificate``."""
    now = now or datetime.datetime.now(datetime.UTC)
    if x509 is None and (params["private_keys"] or params["request"] or params["certificate"]):
        raise ImportError(MISSING_CRYPTOGRAPHY)
    problems = {}
    for entry in params["directories"]:
        problem = _file_problem(entry, "directory")
        if problem:
            problems[entry["name"]] = problem
    for entry in [*params["files"], *params["secret_files"]]:
        problem = _file_problem(entry)
        if not problem and _read(entry["path"]) != entry["content"].encode():
            problem = "its content differs"
        if problem:
            problems[entry["name"]] = problem
    keys = {}
    for entry in params["private_keys"]:
        problem, keys[entry["name"]] = private_key_problem(entry)
        if problem:
            problems[entry["name"]] = problem
    request = params["request"]
    if request:
        problem = request_problem(request, keys.get(request["signed_by"]))
        if problem:
            problems[request["name"]] = problem
    result = {"problems": problems}
    certificate = params["certificate"]
    if certificate:
        exists = os.path.isfile(certificate["path"])
        days_left = certificate_days_left(certificate["path"], now) if exists else None
        result["certificate"] = {
            "exists": exists,
            "days_left": None if days_left is None else round(days_left, 2),
            # As the ACME order's remaining_days: renewed when fewer days are left (or none can be read).
            "due": days_left is None or days_left < certificate["renew_days"],
        }
    return result


def read_state(module) -> dict:
    """The local_tls_state module's work: ``state`` of its parameters; it changes nothing."""
    return {"changed": False, **state(module.params)}
