"""Checks of a certificate, CRL or CSR after the HSM signed it; each passing check is a sentence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from sealroom.errors import PkiError
from sealroom.pki.profile import (
    Extensions,
    PublicKey,
    SignatureChoice,
    describe_extensions,
    serial_hex,
)

Check = tuple[str, Callable[[], bool]]


def run_checks(what: str, checks: Sequence[Check]) -> tuple[str, ...]:
    """Run every check; return the sentences of those that passed, or raise PkiError.

    PkiError names every check that failed, not only the first.
    """
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
            f"{what} signed in the HSM failed its checks; it was not written. "
            f"Not true: {'; '.join(failed)}."
        )
    return tuple(passed)


@dataclass(frozen=True)
class CertificateExpectation:
    """What the certificate must be, derived from the script, the HSM key and the issuer."""

    certificate_id: str
    subject: x509.Name
    serial: int
    not_before: datetime
    not_after: datetime
    subject_spki_der: bytes
    """The certified public key (for a root: the HSM key itself)."""
    issuer_public_key: PublicKey
    """The public key the HSM reported for the signing key."""
    signature: SignatureChoice
    extensions: Extensions
    twin_tbs: bytes
    """The TBSCertificate of the same certificate signed by a throwaway key, before the HSM."""
    issuer_certificate: x509.Certificate | None = None
    """The issuing CA's certificate; None for a self-signed root."""


def verify_certificate(der: bytes, expected: CertificateExpectation) -> tuple[str, ...]:
    """Every check of an HSM-signed certificate, as sentences; PkiError lists those that fail."""
    what = f"The certificate '{expected.certificate_id}'"
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise PkiError(f"{what} signed in the HSM does not parse as DER.") from exc
    issuer_cert = expected.issuer_certificate or cert
    self_signed = expected.issuer_certificate is None
    names = (
        f"the subject is {_name_order(expected.subject)} as scripted, and the issuer equals "
        "the subject"
        if self_signed
        else f"the subject is {_name_order(expected.subject)} as expected, and the issuer is "
        "the issuing certificate's subject"
    )
    checks: list[Check] = [
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
            lambda: _certificate_signature_verifies(cert, expected.issuer_public_key),
        ),
        (
            "the certificate's public key is the HSM key (SubjectPublicKeyInfo DER identical)"
            if self_signed
            else "the certificate's public key is the one to be certified (SubjectPublicKeyInfo "
            "DER identical)",
            lambda: _spki_der(cert) == expected.subject_spki_der,
        ),
        (
            names,
            lambda: cert.subject == expected.subject and cert.issuer == issuer_cert.subject,
        ),
        (
            "the certificate verifies as issued by itself (signature and names)"
            if self_signed
            else "the certificate verifies as issued by the issuing certificate (signature and "
            "names)",
            lambda: _issued_by(cert, issuer_cert),
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
            f"the extensions are exactly {describe_extensions(expected.extensions)}",
            lambda: tuple(cert.extensions) == expected.extensions,
        ),
    ]
    return run_checks(what, checks)


@dataclass(frozen=True)
class CrlExpectation:
    """What the CRL must be, derived from the script and the issuing certificate."""

    crl_id: str
    issuer_certificate: x509.Certificate
    number: int
    this_update: datetime
    next_update: datetime
    revoked: tuple[x509.RevokedCertificate, ...]
    signature: SignatureChoice
    extensions: Extensions
    twin_tbs: bytes


def verify_crl(der: bytes, expected: CrlExpectation) -> tuple[str, ...]:
    """Every check of an HSM-signed CRL (as ``openssl crl -verify`` and more), as sentences."""
    what = f"The CRL '{expected.crl_id}'"
    try:
        crl = x509.load_der_x509_crl(der)
    except ValueError as exc:
        raise PkiError(f"{what} signed in the HSM does not parse as DER.") from exc
    issuer = expected.issuer_certificate
    checks: list[Check] = [
        (
            "the TBSCertList is byte-identical to the twin signed by a throwaway key",
            lambda: crl.tbs_certlist_bytes == expected.twin_tbs,
        ),
        (
            f"the signature algorithm is {expected.signature.name}",
            lambda: crl.signature_algorithm_oid == expected.signature.oid,
        ),
        (
            "the signature verifies with the issuing certificate's public key",
            lambda: _crl_signature_verifies(crl, issuer),
        ),
        (
            "the issuer is the issuing certificate's subject",
            lambda: crl.issuer == issuer.subject,
        ),
        (
            "the authorityKeyIdentifier is the issuing certificate's subjectKeyIdentifier",
            lambda: _aki(crl.extensions) == _ski(issuer),
        ),
        (
            f"the CRL number is {expected.number} as scripted",
            lambda: (
                crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
                == expected.number
            ),
        ),
        (
            "thisUpdate and nextUpdate are exactly the scripted ones",
            lambda: (
                crl.last_update_utc == expected.this_update
                and crl.next_update_utc == expected.next_update
            ),
        ),
        (
            f"the CRL lists exactly the {len(expected.revoked)} scripted revocation(s), each with "
            "its serial, date and reason (no reasonCode for unspecified)",
            lambda: _entries(crl) == [_entry(entry) for entry in expected.revoked],
        ),
        (
            f"the extensions are exactly {describe_extensions(expected.extensions)}",
            lambda: tuple(crl.extensions) == expected.extensions,
        ),
    ]
    return run_checks(what, checks)


@dataclass(frozen=True)
class RequestExpectation:
    """What the CSR made with the HSM key must be."""

    csr_id: str
    subject: x509.Name
    spki_der: bytes
    signature: SignatureChoice
    twin_tbs: bytes


def verify_request(der: bytes, expected: RequestExpectation) -> tuple[str, ...]:
    """Every check of an HSM-signed CSR, as sentences; PkiError lists those that fail."""
    what = f"The certificate signing request '{expected.csr_id}'"
    try:
        csr = x509.load_der_x509_csr(der)
    except ValueError as exc:
        raise PkiError(f"{what} signed in the HSM does not parse as DER.") from exc
    checks: list[Check] = [
        (
            "the CertificationRequestInfo is byte-identical to the twin signed by a throwaway key",
            lambda: csr.tbs_certrequest_bytes == expected.twin_tbs,
        ),
        (
            f"the signature algorithm is {expected.signature.name}",
            lambda: csr.signature_algorithm_oid == expected.signature.oid,
        ),
        (
            "the self-signature verifies with the public key the HSM reported for the key",
            lambda: csr.is_signature_valid,
        ),
        (
            "the request's public key is the HSM key (SubjectPublicKeyInfo DER identical)",
            lambda: (
                csr.public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                == expected.spki_der
            ),
        ),
        (
            f"the subject is {_name_order(expected.subject)} as scripted",
            lambda: csr.subject == expected.subject,
        ),
        (
            "the request carries no attributes and requests no extensions (the issuer's "
            "profile decides them)",
            lambda: len(csr.attributes) == 0 and len(csr.extensions) == 0,
        ),
    ]
    return run_checks(what, checks)


def _name_order(name: x509.Name) -> str:
    return ", ".join(attribute.rfc4514_attribute_name for attribute in name)


def _spki_der(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _certificate_signature_verifies(cert: x509.Certificate, public_key: PublicKey) -> bool:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        # PureEdDSA: no separate hash, the signature is over the TBSCertificate itself.
        if cert.signature_hash_algorithm is not None:
            return False
        public_key.verify(cert.signature, cert.tbs_certificate_bytes)
        return True
    algorithm = cert.signature_hash_algorithm
    if algorithm is None:
        return False
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(cert.signature, cert.tbs_certificate_bytes, PKCS1v15(), algorithm)
    else:
        public_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
    return True


def _crl_signature_verifies(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    public_key = issuer.public_key()
    if not isinstance(public_key, PublicKey):
        return False
    return crl.is_signature_valid(public_key)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    cert.verify_directly_issued_by(issuer)
    return True


def _ski(cert: x509.Certificate) -> bytes:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def _aki(extensions: x509.Extensions) -> bytes | None:
    return extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier


def _entries(crl: x509.CertificateRevocationList) -> list[tuple[int, datetime, tuple[object, ...]]]:
    return [_entry(revoked) for revoked in crl]


def _entry(revoked: x509.RevokedCertificate) -> tuple[int, datetime, tuple[object, ...]]:
    extensions = tuple((ext.oid, ext.critical, ext.value) for ext in revoked.extensions)
    return revoked.serial_number, revoked.revocation_date_utc, extensions
