"""The root certificate profile: subject, validity, extensions and signature algorithm."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier, SignatureAlgorithmOID

from sealroom.ceremony.script import CertificateSpec, Subject
from sealroom.errors import PkiError

SERIAL_LIMIT: Final = 1 << 159
"""RFC 5280 4.1.2.2: a serial is a positive integer of at most 20 octets (so below 2**159)."""
KEY_IDENTIFIER_BYTES: Final = 20
"""RFC 7093 section 2 method 1 keeps the leftmost 160 bits of the SHA-256."""


@dataclass(frozen=True)
class SignatureChoice:
    """The signature algorithm a key algorithm uses for certificates."""

    hash_name: str
    oid: ObjectIdentifier
    name: str
    """The algorithm's name as OpenSSL prints it, e.g. ``ecdsa-with-SHA384``."""

    def hash_algorithm(self) -> hashes.SHA256 | hashes.SHA384:
        """A fresh cryptography hash object for the builder."""
        return hashes.SHA384() if self.hash_name == "sha384" else hashes.SHA256()


_SHA256_RSA: Final = SignatureChoice(
    "sha256", SignatureAlgorithmOID.RSA_WITH_SHA256, "sha256WithRSAEncryption"
)
SIGNATURE_CHOICES: Final[dict[str, SignatureChoice]] = {
    "rsa-3072": _SHA256_RSA,
    "rsa-4096": _SHA256_RSA,
    "ec-p256": SignatureChoice(
        "sha256", SignatureAlgorithmOID.ECDSA_WITH_SHA256, "ecdsa-with-SHA256"
    ),
    "ec-p384": SignatureChoice(
        "sha384", SignatureAlgorithmOID.ECDSA_WITH_SHA384, "ecdsa-with-SHA384"
    ),
}


def subject_name(subject: Subject) -> x509.Name:
    """C, O, OU (when given) and CN, in that order, one attribute per RDN."""
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, subject.country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, subject.organization),
    ]
    if subject.organizational_unit is not None:
        attributes.append(
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, subject.organizational_unit)
        )
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, subject.common_name))
    return x509.Name(attributes)


def key_identifier(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> bytes:
    """RFC 7093 section 2 method 1: leftmost 160 bits of SHA-256 over subjectPublicKey.

    subjectPublicKey is the BIT STRING's value without tag, length or unused-bits octet: the
    PKCS#1 RSAPublicKey DER for RSA, the uncompressed X9.62 point for EC.
    """
    if isinstance(public_key, rsa.RSAPublicKey):
        value = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
    else:
        value = public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return hashlib.sha256(value).digest()[:KEY_IDENTIFIER_BYTES]


def root_extensions(
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
) -> tuple[x509.Extension[x509.ExtensionType], ...]:
    """The root profile's extensions, in order: basicConstraints, keyUsage, subjectKeyIdentifier."""
    basic = x509.BasicConstraints(ca=True, path_length=None)
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    ski = x509.SubjectKeyIdentifier(key_identifier(public_key))
    return (
        x509.Extension(basic.oid, True, basic),
        x509.Extension(usage.oid, True, usage),
        x509.Extension(ski.oid, False, ski),
    )


def describe_extensions() -> str:
    """The root profile's extensions in words, for the checks list."""
    return (
        "basicConstraints (critical, CA, no path length), keyUsage (critical, keyCertSign and "
        "cRLSign only), subjectKeyIdentifier (not critical, RFC 7093 method 1)"
    )


def require_serial(serial: int) -> None:
    """Raise PkiError unless ``serial`` is an int with 0 < serial < 2**159."""
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise PkiError(f"The certificate serial must be an integer, not {type(serial).__name__}.")
    if not 0 < serial < SERIAL_LIMIT:
        raise PkiError(
            "The certificate serial must be positive and below 2**159 (at most 20 octets, "
            f"RFC 5280 4.1.2.2); {serial.bit_length()}-bit value given."
        )


def serial_hex(serial: int) -> str:
    """The serial as lowercase hex of its big-endian octets (even length, as OpenSSL shows it)."""
    return serial.to_bytes((serial.bit_length() + 7) // 8, "big").hex()


def validity(spec: CertificateSpec) -> tuple[datetime, datetime]:
    """The scripted not_before and not_after in UTC, checked: whole seconds, in order.

    The workstation clock is never consulted: validity comes from the script alone.
    """
    bounds = []
    for name, moment in (("not_before", spec.not_before), ("not_after", spec.not_after)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise PkiError(f"The certificate '{spec.id}' {name} has no time zone.")
        if moment.microsecond:
            raise PkiError(
                f"The certificate '{spec.id}' {name} has fractions of a second; X.509 validity "
                "is in whole seconds."
            )
        bounds.append(moment.astimezone(UTC))
    not_before, not_after = bounds
    if not_before >= not_after:
        raise PkiError(f"The certificate '{spec.id}' must have not_before earlier than not_after.")
    return not_before, not_after
