"""module_utils/host/tls_files.py, the work of modules/local_tls_state.py: each file its task has to make again.

The files are made here with cryptography as community.crypto's modules make
them (an EC key on secp256r1, a request with only a subjectAltName); that
those modules' own files pass is test_local_https.py's: a second converge of
the public site starts no module process.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.host import files as host_files
from ansible_collections.daskhub.deploy.plugins.module_utils.host import tls_files
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NAMES = ("DNS:hub.example.org", "IP:127.0.0.1")
NOW = datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC)


def _write(path, data: bytes, mode: int):
    path.write_bytes(data)
    os.chmod(path, mode)
    return str(path)


def _key_pem(key, password=None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, encryption)


def _alt_names(names):
    entries = []
    for name in names:
        kind, value = name.split(":", 1)
        if kind == "IP":
            entries.append(x509.IPAddress(ipaddress.ip_address(value)))
        else:
            entries.append(x509.DNSName(value))
    return x509.SubjectAlternativeName(entries)


def _request_pem(key, names=NAMES, subject=(), extra=()) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(list(subject)))
    builder = builder.add_extension(_alt_names(names), critical=False)
    for extension in extra:
        builder = builder.add_extension(extension, critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _certificate_pem(key, days_left: float) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.example.org")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=10))
        .not_valid_after(NOW + datetime.timedelta(days=days_left))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def site(tmp_path):
    """The files of an ACME site as its tasks leave them, and the options that describe them."""
    key = ec.generate_private_key(ec.SECP256R1())
    tls = tmp_path / "tls"
    tls.mkdir(mode=0o700)
    os.chmod(tls, 0o700)
    params = {
        "directories": [{"name": "tls", "path": str(tls), "mode": "0700", "owner": ""}],
        "files": [
            {"name": "site_ca", "path": _write(tmp_path / "ca.pem", b"CA\n", 0o644), "mode": "0644", "content": "CA\n"}
        ],
        "secret_files": [],
        "private_keys": [{"name": "tls_key", "path": _write(tls / "key.pem", _key_pem(key), 0o600), "mode": "0600"}],
        "request": {
            "name": "tls_csr",
            "path": _write(tls / "request.csr", _request_pem(key), 0o644),
            "mode": "0644",
            "signed_by": "tls_key",
            "names": list(reversed(NAMES)),  # in any order
        },
        "certificate": {"path": _write(tls / "fullchain.pem", _certificate_pem(key, 89.5), 0o644), "renew_days": 30},
    }
    return params, key


def test_files_as_their_tasks_make_them_name_no_problem(site):
    params, _key = site
    result = tls_files.state(params, NOW)
    assert result == {"problems": {}, "certificate": {"exists": True, "days_left": 89.5, "due": False}}


def _problem(params, name):
    return tls_files.state(params, NOW)["problems"].get(name, "")


def test_a_directory_or_file_that_differs_is_named(site, tmp_path):
    params, _key = site
    os.chmod(params["directories"][0]["path"], 0o500)
    assert _problem(params, "tls") == "mode 0500, not 0700"
    params["files"][0]["content"] = "another CA\n"
    assert _problem(params, "site_ca") == "its content differs"
    params["files"][0]["path"] = str(tmp_path / "gone.pem")
    assert _problem(params, "site_ca") == "missing"
    params["files"][0]["path"] = params["directories"][0]["path"]
    assert _problem(params, "site_ca") == "not a file"


def test_a_mode_that_is_not_an_octal_string_is_refused_naming_the_path(site):
    params, _key = site
    params["directories"][0]["mode"] = "rwx"
    with pytest.raises(host_files.FilesError, match=f"{params['directories'][0]['path']}: mode 'rwx' is not an octal"):
        tls_files.state(params, NOW)


def test_an_owner_other_than_the_tasks_is_named(site):
    params, _key = site
    owner = "nobody" if os.getuid() != 65534 else "root"
    params["private_keys"][0]["owner"] = owner
    assert _problem(params, "tls_key") == f"owned by uid {os.getuid()}, not {owner}"
    params["private_keys"][0]["owner"] = "daskhub-zz-unit-none"
    assert _problem(params, "tls_key") == "owner daskhub-zz-unit-none is not an account yet"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (lambda: _key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "not an EC key on"),
        (lambda: _key_pem(ec.generate_private_key(ec.SECP384R1())), "not an EC key on secp256r1"),
        (lambda: _key_pem(ec.generate_private_key(ec.SECP256R1()), b"passphrase"), "not an unencrypted PEM"),
        (lambda: b"not a key\n", "not an unencrypted PEM private key"),
    ],
    ids=["rsa", "another-curve", "encrypted", "garbage"],
)
def test_a_key_its_task_would_make_again_is_named_and_so_is_its_request(site, content, expected):
    params, _key = site
    _write(Path(params["private_keys"][0]["path"]), content(), 0o600)
    problems = tls_files.state(params, NOW)["problems"]
    assert problems["tls_key"].startswith(expected), problems
    assert problems["tls_csr"] == "its key is made again"


def test_a_key_with_another_mode_is_named(site):
    params, _key = site
    os.chmod(params["private_keys"][0]["path"], 0o644)
    assert _problem(params, "tls_key") == "mode 0644, not 0600"


@pytest.mark.parametrize(
    ("request_pem", "expected"),
    [
        (lambda key: _request_pem(ec.generate_private_key(ec.SECP256R1())), "signed by another key"),
        (lambda key: _request_pem(key, ["DNS:old.example.org"]), "names DNS:old.example.org, not "),
        (lambda key: _request_pem(key, [*NAMES, "DNS:more.example.org"]), "names DNS:hub.example.org, IP:127.0.0.1, "),
        (
            lambda key: _request_pem(key, subject=[x509.NameAttribute(NameOID.COMMON_NAME, "hub")]),
            "has the subject CN=hub",
        ),
        (
            lambda key: _request_pem(key, extra=[x509.BasicConstraints(ca=False, path_length=None)]),
            "has other extensions than one non-critical subjectAltName",
        ),
        (lambda key: b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "not a PEM"),
    ],
    ids=["another-key", "other-names", "more-names", "subject", "extension", "garbage"],
)
def test_a_request_its_task_would_make_again_is_named(site, request_pem, expected):
    params, key = site
    _write(Path(params["request"]["path"]), request_pem(key), 0o644)
    problems = tls_files.state(params, NOW)["problems"]
    assert problems == {"tls_csr": problems.get("tls_csr")} and problems["tls_csr"].startswith(expected), problems


@pytest.mark.parametrize(
    ("days_left", "due"),
    [(30.5, False), (29.9, True), (0.5, True), (-3, True)],
)
def test_the_certificate_is_due_with_fewer_days_left_than_renew_days(site, days_left, due):
    params, key = site
    path = Path(params["certificate"]["path"])
    # A chain, as the ACME order writes it: the leaf, then its issuer.
    _write(path, _certificate_pem(key, days_left) + _certificate_pem(key, 1000), 0o644)
    certificate = tls_files.state(params, NOW)["certificate"]
    assert certificate == {"exists": True, "days_left": days_left, "due": due}


def test_a_missing_or_unreadable_certificate_is_due(site):
    params, _key = site
    path = Path(params["certificate"]["path"])
    path.write_bytes(b"not a certificate\n")
    assert tls_files.state(params, NOW)["certificate"] == {"exists": True, "days_left": None, "due": True}
    path.unlink()
    assert tls_files.state(params, NOW)["certificate"] == {"exists": False, "days_left": None, "due": True}


def test_the_module_reads_only_and_never_names_a_secret_files_content(site, tmp_path):
    params, _key = site
    secret = "-----BEGIN PRIVATE KEY-----\nsecret-zz-unit\n-----END PRIVATE KEY-----\n"
    path = _write(tmp_path / "operator.key", b"old\n", 0o600)
    params["secret_files"] = [{"name": "tls_key", "path": path, "mode": "0600", "content": secret}]

    class Module:
        pass

    module = Module()
    module.params = params
    before = sorted((path, os.stat(path).st_mtime_ns) for path in (str(p) for p in tmp_path.rglob("*")))
    result = tls_files.read_state(module)
    assert result["changed"] is False and result["problems"] == {"tls_key": "its content differs"}
    assert "secret-zz-unit" not in repr(result)
    assert sorted((path, os.stat(path).st_mtime_ns) for path in (str(p) for p in tmp_path.rglob("*"))) == before
