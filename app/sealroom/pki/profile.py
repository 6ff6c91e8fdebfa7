"""The root certificate profile: subject, validity, extensions and signature algorithm."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    ExtensionOID,
    NameOID,
    ObjectIdentifier,
    SignatureAlgorithmOID,
)

from sealroom.ceremony.script import CertificateSpec, CrlSpec, Subject
from sealroom.errors import PkiError

KEY_IDENTIFIER_BYTES: Final = 20
"""RFC 7093 section 2 method 1 keeps the leftmost 160 bits of the SHA-256."""


HashName = Literal["sha256", "sha384", "sha512"]
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
"""The public keys Sealroom signs with and certifies: RSA, EC (P-256, P-384, P-521) and Ed25519."""

_HASHES: Final[dict[HashName, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@dataclass(frozen=True)
class SignatureChoice:
    """The signature algorithm a key algorithm uses for certificates, CSRs and CRLs."""

    hash_name: HashName | None
    """The hash cryptography's builder is given; None for Ed25519, which has no separate hash
    (RFC 8410 section 3: PureEdDSA, the algorithm identifier has no parameters)."""
    oid: ObjectIdentifier
    name: str
    """The algorithm's name as OpenSSL prints it, e.g. ``ecdsa-with-SHA384`` or ``ED25519``."""

    def hash_algorithm(self) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
        """A fresh cryptography hash object for the builder (None: the key fixes its hash)."""
        return None if self.hash_name is None else _HASHES[self.hash_name]()


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
    # RFC 5480 section 4 pairs P-521 with SHA-512 (as the BR 7.1.3.2.2 encodings do).
    "ec-p521": SignatureChoice(
        "sha512", SignatureAlgorithmOID.ECDSA_WITH_SHA512, "ecdsa-with-SHA512"
    ),
    "ed25519": SignatureChoice(None, SignatureAlgorithmOID.ED25519, "ED25519"),
}
"""The signature algorithm for each script key algorithm; the key decides it, never the script."""


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


def key_identifier(public_key: PublicKey) -> bytes:
    """RFC 7093 section 2 method 1: leftmost 160 bits of SHA-256 over subjectPublicKey.

    subjectPublicKey is the BIT STRING's value without tag, length or unused-bits octet: the
    PKCS#1 RSAPublicKey DER for RSA, the uncompressed X9.62 point for EC, the 32 raw octets of
    the key for Ed25519 (RFC 8410 section 4).
    """
    if isinstance(public_key, rsa.RSAPublicKey):
        value = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        value = public_key.public_bytes_raw()
    else:
        value = public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    return hashlib.sha256(value).digest()[:KEY_IDENTIFIER_BYTES]


def key_usage(
    *, digital_signature: bool = False, cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    """A keyUsage with only the named bits set."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


Extensions = tuple[x509.Extension[x509.ExtensionType], ...]


def _critical(value: x509.ExtensionType) -> x509.Extension[x509.ExtensionType]:
    return x509.Extension(value.oid, True, value)


def _plain(value: x509.ExtensionType) -> x509.Extension[x509.ExtensionType]:
    return x509.Extension(value.oid, False, value)


def authority_key_identifier(issuer_ski: bytes) -> x509.Extension[x509.ExtensionType]:
    """The authorityKeyIdentifier with keyIdentifier only (BR 7.1.2.11.1: no issuer, serial)."""
    return _plain(x509.AuthorityKeyIdentifier(issuer_ski, None, None))


def root_extensions(public_key: PublicKey, path_length: int | None = None) -> Extensions:
    """The root profile (BR 7.1.2.1): basicConstraints, keyUsage, SKI, and AKI equal to the SKI."""
    ski = key_identifier(public_key)
    return (
        _critical(x509.BasicConstraints(ca=True, path_length=path_length)),
        _critical(key_usage(cert_sign=True, crl_sign=True)),
        _plain(x509.SubjectKeyIdentifier(ski)),
        authority_key_identifier(ski),
    )


def subordinate_extensions(
    spec: CertificateSpec,
    public_key: PublicKey,
    issuer_ski: bytes,
) -> Extensions:
    """The subordinate CA profile (BR 7.1.2.10, RFC 5280 4.2).

    digitalSignature is set because an issuing CA signs OCSP responses (BR 7.1.2.10.7).
    """
    return (
        _critical(x509.BasicConstraints(ca=True, path_length=spec.path_length)),
        _critical(key_usage(digital_signature=True, cert_sign=True, crl_sign=True)),
        _plain(x509.SubjectKeyIdentifier(key_identifier(public_key))),
        authority_key_identifier(issuer_ski),
        *publication_extensions(spec),
    )


def cross_extensions(
    spec: CertificateSpec, subject_cert: x509.Certificate, issuer_ski: bytes
) -> Extensions:
    """The cross-certificate profile (BR 7.1.2.2): the existing CA's SKI, and ours as its AKI.

    digitalSignature is set only when the existing certificate sets it (the CA signs OCSP).
    """
    try:
        existing = subject_cert.extensions.get_extension_for_class(x509.KeyUsage).value
        digital_signature = existing.digital_signature
    except x509.ExtensionNotFound:
        digital_signature = False
    try:
        ski = subject_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        public = subject_cert.public_key()
        if not isinstance(public, PublicKey):
            raise PkiError(
                f"The certificate '{spec.id}' cannot cross-certify a {type(public).__name__} key."
            ) from None
        ski = x509.SubjectKeyIdentifier(key_identifier(public))
    return (
        _critical(x509.BasicConstraints(ca=True, path_length=spec.path_length)),
        _critical(key_usage(digital_signature=digital_signature, cert_sign=True, crl_sign=True)),
        _plain(ski),
        authority_key_identifier(issuer_ski),
        *publication_extensions(spec),
    )


def ocsp_responder_extensions(
    spec: CertificateSpec,
    public_key: PublicKey,
    issuer_ski: bytes,
) -> Extensions:
    """The delegated OCSP responder profile (RFC 6960 4.2.2.2, BR 7.1.2.8).

    keyUsage digitalSignature only, EKU id-kp-OCSPSigning only, id-pkix-ocsp-nocheck, SKI and
    AKI; no basicConstraints (an end-entity certificate), and none of cRLDistributionPoints,
    certificatePolicies (BR 7.1.2.8.2: MUST NOT) or authorityInfoAccess (SHOULD NOT).
    """
    for field, value in (
        ("path_length", spec.path_length),
        ("extended_key_usage", spec.extended_key_usage),
        ("crl_urls", spec.crl_urls),
        ("ca_issuers_urls", spec.ca_issuers_urls),
        ("ocsp_urls", spec.ocsp_urls),
        ("policies", spec.policies),
    ):
        if value is not None and value != ():
            raise PkiError(
                f"The certificate '{spec.id}' is an OCSP responder certificate, whose profile is "
                f"fixed (BR 7.1.2.8): remove its {field}."
            )
    return (
        _critical(key_usage(digital_signature=True)),
        _plain(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])),
        _plain(x509.OCSPNoCheck()),
        _plain(x509.SubjectKeyIdentifier(key_identifier(public_key))),
        authority_key_identifier(issuer_ski),
    )


EXTENDED_KEY_USAGES: Final[dict[str, ObjectIdentifier]] = {
    "server-auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client-auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code-signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email-protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
}


def publication_extensions(spec: CertificateSpec) -> Extensions:
    """cRLDistributionPoints, authorityInfoAccess, certificatePolicies and EKU, as scripted.

    One distribution point holding every URL (BR 7.1.2.11.2); OCSP before caIssuers in the AIA.
    """
    extensions: list[x509.Extension[x509.ExtensionType]] = []
    if spec.crl_urls:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(url) for url in spec.crl_urls],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
        extensions.append(_plain(x509.CRLDistributionPoints([point])))
    access = [
        x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(u)
        )
        for u in spec.ocsp_urls
    ] + [
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u)
        )
        for u in spec.ca_issuers_urls
    ]
    if access:
        extensions.append(_plain(x509.AuthorityInformationAccess(access)))
    if spec.policies:
        extensions.append(
            _plain(
                x509.CertificatePolicies(
                    [x509.PolicyInformation(ObjectIdentifier(oid), None) for oid in spec.policies]
                )
            )
        )
    if spec.extended_key_usage:
        extensions.append(
            _plain(
                x509.ExtendedKeyUsage(
                    [EXTENDED_KEY_USAGES[usage] for usage in spec.extended_key_usage]
                )
            )
        )
    return tuple(extensions)


_EXTENSION_NAMES: Final[dict[ObjectIdentifier, str]] = {
    ExtensionOID.BASIC_CONSTRAINTS: "basicConstraints",
    ExtensionOID.KEY_USAGE: "keyUsage",
    ExtensionOID.SUBJECT_KEY_IDENTIFIER: "subjectKeyIdentifier",
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER: "authorityKeyIdentifier",
    ExtensionOID.CRL_DISTRIBUTION_POINTS: "cRLDistributionPoints",
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS: "authorityInfoAccess",
    ExtensionOID.CERTIFICATE_POLICIES: "certificatePolicies",
    ExtensionOID.EXTENDED_KEY_USAGE: "extKeyUsage",
    ExtensionOID.OCSP_NO_CHECK: "id-pkix-ocsp-nocheck",
    ExtensionOID.CRL_NUMBER: "cRLNumber",
}
_USAGE_BITS: Final = (
    ("digital_signature", "digitalSignature"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def describe_extensions(extensions: Extensions) -> str:
    """The extensions in words, in order, for the checks list and the documentation."""
    parts: list[str] = []
    for extension in extensions:
        name = _EXTENSION_NAMES.get(extension.oid, extension.oid.dotted_string)
        details: list[str] = ["critical"] if extension.critical else []
        value = extension.value
        if isinstance(value, x509.BasicConstraints):
            details.append("CA" if value.ca else "not a CA")
            if value.ca:
                details.append(
                    "no path length"
                    if value.path_length is None
                    else f"path length {value.path_length}"
                )
        elif isinstance(value, x509.KeyUsage):
            details.append(" and ".join(word for bit, word in _USAGE_BITS if getattr(value, bit)))
        elif isinstance(value, x509.ExtendedKeyUsage):
            details.append(", ".join(getattr(oid, "_name", oid.dotted_string) for oid in value))
        parts.append(f"{name} ({', '.join(details)})" if details else name)
    return ", ".join(parts)


SERIAL_PREFIX: Final = 0x01
SERIAL_RANDOM_BYTES: Final = 16
"""128 random bits from the HSM after the 0x01 prefix (BR 7.1: at least 64 bits of CSPRNG)."""
_SERIAL_MAX_OCTETS: Final = 20


def serial_from_random(random: bytes) -> int:
    """The serial 0x01 || ``random``: positive, never shortened by leading zeros, ≤ 20 octets."""
    if not SERIAL_RANDOM_BYTES <= len(random) < _SERIAL_MAX_OCTETS:
        raise PkiError(
            f"A certificate serial needs {SERIAL_RANDOM_BYTES} to {_SERIAL_MAX_OCTETS - 1} random "
            f"octets from the HSM, not {len(random)}."
        )
    return int.from_bytes(bytes([SERIAL_PREFIX]) + random, "big")


def require_serial(serial: int) -> None:
    """Raise PkiError unless ``serial`` is 0x01 followed by 16 to 19 random octets.

    The 0x01 prefix keeps the serial positive and its length fixed whatever the random octets
    are; 16 octets give 128 random bits; 20 octets in all is RFC 5280 4.1.2.2's maximum.
    """
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise PkiError(f"The certificate serial must be an integer, not {type(serial).__name__}.")
    octets = (serial.bit_length() + 7) // 8 if serial > 0 else 0
    leading = serial >> (8 * (octets - 1)) if octets else 0
    if leading != SERIAL_PREFIX or not SERIAL_RANDOM_BYTES < octets <= _SERIAL_MAX_OCTETS:
        raise PkiError(
            "The certificate serial must be the octet 01 followed by at least "
            f"{SERIAL_RANDOM_BYTES} random octets from the HSM, at most {_SERIAL_MAX_OCTETS} "
            f"octets in all (RFC 5280 4.1.2.2); the value given has {octets} octet(s)"
            + (f" and starts with {leading:02x}." if octets else " (it is not positive).")
        )


def serial_hex(serial: int) -> str:
    """The serial as lowercase hex of its big-endian octets (even length, as OpenSSL shows it)."""
    return serial.to_bytes((serial.bit_length() + 7) // 8, "big").hex()


def script_time(owner: str, field: str, moment: datetime) -> datetime:
    """A scripted moment in UTC, refused without a time zone or with fractions of a second."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PkiError(f"{owner} {field} has no time zone.")
    if moment.microsecond:
        raise PkiError(
            f"{owner} {field} has fractions of a second; X.509 times are in whole seconds."
        )
    return moment.astimezone(UTC)


def validity(spec: CertificateSpec) -> tuple[datetime, datetime]:
    """The scripted not_before and not_after in UTC, checked: whole seconds, in order.

    The workstation clock is never consulted: validity comes from the script alone.
    """
    owner = f"The certificate '{spec.id}'"
    not_before = script_time(owner, "not_before", spec.not_before)
    not_after = script_time(owner, "not_after", spec.not_after)
    if not_before >= not_after:
        raise PkiError(f"The certificate '{spec.id}' must have not_before earlier than not_after.")
    return not_before, not_after


CRL_REASONS: Final[dict[str, x509.ReasonFlags | None]] = {
    "unspecified": None,  # BR 7.2.2: no reasonCode extension rather than unspecified (0)
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
}


def crl_window(spec: CrlSpec) -> tuple[datetime, datetime]:
    """The thisUpdate and nextUpdate from the script, in order and within ``max_validity_days``."""
    owner = f"The CRL '{spec.id}'"
    this_update = script_time(owner, "this_update", spec.this_update)
    next_update = script_time(owner, "next_update", spec.next_update)
    if next_update <= this_update:
        raise PkiError(f"{owner} must have next_update later than this_update.")
    if next_update - this_update > timedelta(days=spec.max_validity_days):
        days = (next_update - this_update) / timedelta(days=1)
        raise PkiError(
            f"{owner} would be valid for {days:g} days (this_update to next_update), more than "
            f"its profile's max_validity_days of {spec.max_validity_days}."
        )
    return this_update, next_update


def revoked_entries(spec: CrlSpec, this_update: datetime) -> tuple[x509.RevokedCertificate, ...]:
    """The scripted revocations, each checked: unique serial, revoked no later than thisUpdate."""
    entries: list[x509.RevokedCertificate] = []
    seen: set[int] = set()
    for index, entry in enumerate(spec.revoked, start=1):
        where = f"The CRL '{spec.id}' revoked entry {index} (serial {entry.serial})"
        serial = int(entry.serial, 16)
        if serial == 0:
            raise PkiError(f"{where} has serial 0, which no certificate can have.")
        if serial in seen:
            raise PkiError(f"{where} repeats a serial listed before it.")
        seen.add(serial)
        revoked_at = script_time(where, "revoked_at", entry.revoked_at)
        if revoked_at > this_update:
            raise PkiError(f"{where} has revoked_at later than the CRL's this_update.")
        builder = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
        reason = CRL_REASONS[entry.reason]
        if reason is not None:
            builder = builder.add_extension(x509.CRLReason(reason), critical=False)
        entries.append(builder.build())
    return tuple(entries)
