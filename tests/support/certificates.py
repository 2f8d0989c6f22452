"""Certificates for the tests' TLS servers and sites: a CA, what it issues, and their PEM files.

One way to make them (cryptography's x509 builder, EC P-256 keys), for the
tests' own https servers (hub/test_transport.py), pebble's API
(support/public_stack.py) and an operator's certificate (test_local_https.py).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Issued:
    """A certificate and its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def write_certificate(self, certificate_file: Path) -> Path:
        """The certificate's PEM alone (a CA's, for the clients that trust it); returns its path."""
        certificate_file.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return certificate_file

    def write(self, certificate_file: Path, key_file: Path) -> tuple[Path, Path]:
        """The certificate's PEM, and the key's (0600); returns both paths."""
        self.write_certificate(certificate_file)
        key_file.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_file.chmod(0o600)
        return certificate_file, key_file


def issue(
    common_name: str,
    names: tuple[str, ...] = (),
    days: float = 2,
    by: Issued | None = None,
    ca: bool = False,
) -> Issued:
    """A certificate for ``common_name``, valid from an hour ago for ``days`` days.

    ``names``: its subjectAltName entries (IP addresses or DNS names);
    ``by``: the CA that signs it (None: self-signed); ``ca``: whether it is
    a CA itself.

    The key identifiers and the CA's key usage are those RFC 5280 asks for:
    Python 3.13's default TLS context verifies strictly
    (ssl.VERIFY_X509_STRICT) and refuses a chain without them ("Missing
    Authority Key Identifier"), as a client on Debian 13 would.
    """
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(by.certificate.subject if by else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=days))
    )
    signer = by.key.public_key() if by else key.public_key()
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    usage = dict.fromkeys(("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"), False)
    usage.update(digital_signature=True, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
    return Issued(builder.sign(by.key if by else key, hashes.SHA256()), key)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
