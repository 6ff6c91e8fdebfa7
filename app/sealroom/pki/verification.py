"""Checks of a root certificate after it was signed in the HSM; each passing check is a sentence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from sealroom.errors import PkiError
from sealroom.pki.profile import SignatureChoice, describe_extensions, serial_hex


@dataclass(frozen=True)
class RootExpectation:
    """What the certificate must be, derived from the script and the HSM's key record."""

    certificate_id: str
    subject: x509.Name
    serial: int
    not_before: datetime
    not_after: datetime
    spki_der: bytes
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
    signature: SignatureChoice
    extensions: tuple[x509.Extension[x509.ExtensionType], ...]
    twin_tbs: bytes
    """The TBSCertificate of the same certificate signed by a throwaway key, before the HSM."""


def verify_root_certificate(der: bytes, expected: RootExpectation) -> tuple[str, ...]:
    """Run every check on ``der``; return the sentences of those that passed, or raise PkiError.

    PkiError names every check that failed, not only the first.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise PkiError(
            f"The certificate '{expected.certificate_id}' signed in the HSM does not parse as DER."
        ) from exc
    checks: list[tuple[str, Callable[[], bool]]] = [
        ("the certificate is X.509 version 3", lambda: cert.version == x509.Version.v3),
        (
            "the TBSCertificate is byte-identical to the twin signed by a throwaway key",
            lambda: cert.tbs_certificate_bytes == expected.twin_tbs,
        ),
        (
            f"the signature algorithm is {expected.signature.name}",
            lambda: cert.signature_algorithm_oid == expected.signature.oid,
        ),
        (
            "the signature verifies with the public key the HSM reported for the key",
            lambda: _signature_verifies(cert, expected.public_key),
        ),
        (
            "the certificate's public key is the HSM key (SubjectPublicKeyInfo DER identical)",
            lambda: _spki_der(cert) == expected.spki_der,
        ),
        (
            f"the subject is {_name_order(expected.subject)} as scripted, and the issuer "
            "equals the subject",
            lambda: cert.subject == expected.subject and cert.issuer == expected.subject,
        ),
        (
            "the certificate verifies as issued by itself (signature and names)",
            lambda: _self_issued(cert),
        ),
        (
            f"the serial number is {serial_hex(expected.serial)} as given",
            lambda: cert.serial_number == expected.serial,
        ),
        (
            "the validity is exactly the scripted not_before and not_after",
            lambda: (
                cert.not_valid_before_utc == expected.not_before
                and cert.not_valid_after_utc == expected.not_after
            ),
        ),
        (
            f"the extensions are exactly {describe_extensions()}",
            lambda: tuple(cert.extensions) == expected.extensions,
        ),
    ]
    passed: list[str] = []
    failed: list[str] = []
    for sentence, check in checks:
        try:
            ok = check()
        except (ValueError, TypeError, InvalidSignature):
            ok = False
        (passed if ok else failed).append(sentence)
    if failed:
        raise PkiError(
            f"The certificate '{expected.certificate_id}' signed in the HSM failed its checks; "
            f"it was not written. Not true: {'; '.join(failed)}."
        )
    return tuple(passed)


def _name_order(name: x509.Name) -> str:
    return ", ".join(attribute.rfc4514_attribute_name for attribute in name)


def _spki_der(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signature_verifies(
    cert: x509.Certificate, public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey
) -> bool:
    algorithm = cert.signature_hash_algorithm
    if algorithm is None:
        return False
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(cert.signature, cert.tbs_certificate_bytes, PKCS1v15(), algorithm)
    else:
        public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
    return True


def _self_issued(cert: x509.Certificate) -> bool:
    cert.verify_directly_issued_by(cert)
    return True
