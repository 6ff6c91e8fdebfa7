"""CSR import: strict PEM/DER framing, PKCS#10 checks, and the facts shown to the witnesses."""

from __future__ import annotations

import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from sealroom.errors import PkiError
from sealroom.pki import weak

DEFAULT_MAX_BYTES: Final = 16384
STRONG_HASHES: Final = frozenset({"sha256", "sha384", "sha512"})
"""The only hashes a request may be signed with (BR 7.1.3.2; SHA-1 and MD5 are broken)."""
NOT_COPIED: Final = "not copied: the profile decides"

PEM_LABEL: Final = b"CERTIFICATE REQUEST"
"""RFC 7468 section 7: the one label a PKCS#10 request has."""

OID_EXTENSION_REQUEST: Final = "1.2.840.113549.1.9.14"
"""PKCS#9 extensionRequest (RFC 2985 5.4.2): the only attribute Sealroom accepts in a request."""
ATTRIBUTE_NAMES: Final[dict[str, str]] = {
    "1.2.840.113549.1.9.7": "challengePassword",
    "1.2.840.113549.1.9.2": "unstructuredName",
    "1.2.840.113549.1.9.14": "extensionRequest",
    "1.3.6.1.4.1.311.2.1.14": "Microsoft extensionRequest",
    "1.3.6.1.4.1.311.13.2.3": "Microsoft OS version",
}

OID_RSA_ENCRYPTION: Final = "1.2.840.113549.1.1.1"
"""rsaEncryption (RFC 3279 2.3.1)."""
OID_EC_PUBLIC_KEY: Final = "1.2.840.10045.2.1"
"""id-ecPublicKey (RFC 5480 2.1.1)."""
EC_NAMED_CURVES: Final[dict[str, tuple[str, int]]] = {
    "1.2.840.10045.3.1.7": ("secp256r1", 32),
    "1.3.132.0.34": ("secp384r1", 48),
    "1.3.132.0.35": ("secp521r1", 66),
}
"""RFC 5480 2.1.1.1 named curves: cryptography's name and the coordinate length in bytes."""
EC_UNCOMPRESSED: Final = 0x04

SIGNATURE_ALGORITHMS: Final[dict[str, tuple[str, str | None]]] = {
    "1.2.840.113549.1.1.4": ("md5WithRSAEncryption", "md5"),
    "1.2.840.113549.1.1.5": ("sha1WithRSAEncryption", "sha1"),
    "1.2.840.113549.1.1.14": ("sha224WithRSAEncryption", "sha224"),
    "1.2.840.113549.1.1.11": ("sha256WithRSAEncryption", "sha256"),
    "1.2.840.113549.1.1.12": ("sha384WithRSAEncryption", "sha384"),
    "1.2.840.113549.1.1.13": ("sha512WithRSAEncryption", "sha512"),
    "1.2.840.10045.4.1": ("ecdsa-with-SHA1", "sha1"),
    "1.2.840.10045.4.3.1": ("ecdsa-with-SHA224", "sha224"),
    "1.2.840.10045.4.3.2": ("ecdsa-with-SHA256", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa-with-SHA384", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa-with-SHA512", "sha512"),
    "1.3.101.112": ("Ed25519", None),
}
"""Signature algorithms Sealroom can name, with their hash (None: Ed25519 hashes internally).
Anything else (RSASSA-PSS, DSA, Ed448, ...) is refused as unsupported."""

EXTENSION_NAMES: Final[dict[x509.ObjectIdentifier, str]] = {
    ExtensionOID.BASIC_CONSTRAINTS: "basicConstraints",
    ExtensionOID.KEY_USAGE: "keyUsage",
    ExtensionOID.EXTENDED_KEY_USAGE: "extendedKeyUsage",
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME: "subjectAltName",
    ExtensionOID.SUBJECT_KEY_IDENTIFIER: "subjectKeyIdentifier",
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER: "authorityKeyIdentifier",
    ExtensionOID.NAME_CONSTRAINTS: "nameConstraints",
    ExtensionOID.CERTIFICATE_POLICIES: "certificatePolicies",
    ExtensionOID.POLICY_CONSTRAINTS: "policyConstraints",
    ExtensionOID.POLICY_MAPPINGS: "policyMappings",
    ExtensionOID.INHIBIT_ANY_POLICY: "inhibitAnyPolicy",
    ExtensionOID.CRL_DISTRIBUTION_POINTS: "cRLDistributionPoints",
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS: "authorityInfoAccess",
    ExtensionOID.SUBJECT_INFORMATION_ACCESS: "subjectInfoAccess",
    ExtensionOID.ISSUER_ALTERNATIVE_NAME: "issuerAltName",
    ExtensionOID.OCSP_NO_CHECK: "ocspNoCheck",
    ExtensionOID.TLS_FEATURE: "tlsFeature",
    ExtensionOID.FRESHEST_CRL: "freshestCRL",
}
"""RFC 5280 extensions Sealroom can read; any other requested extension must not be critical."""

NAME_ATTRIBUTES: Final[dict[x509.ObjectIdentifier, str]] = {
    NameOID.COMMON_NAME: "commonName",
    NameOID.ORGANIZATION_NAME: "organizationName",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "organizationalUnitName",
    NameOID.COUNTRY_NAME: "countryName",
    NameOID.STATE_OR_PROVINCE_NAME: "stateOrProvinceName",
    NameOID.LOCALITY_NAME: "localityName",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
}

EKU_NAMES: Final[dict[x509.ObjectIdentifier, str]] = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
}

# DER tags (X.690 8.1.2): universal class, and the context-specific [0] of the attributes.
TAG_BOOLEAN: Final = 0x01
TAG_INTEGER: Final = 0x02
TAG_BIT_STRING: Final = 0x03
TAG_OCTET_STRING: Final = 0x04
TAG_OID: Final = 0x06
TAG_SEQUENCE: Final = 0x30
TAG_SET: Final = 0x31
TAG_ATTRIBUTES: Final = 0xA0
_TAG_NAMES: Final[dict[int, str]] = {
    TAG_BOOLEAN: "BOOLEAN",
    TAG_INTEGER: "INTEGER",
    TAG_BIT_STRING: "BIT STRING",
    TAG_OCTET_STRING: "OCTET STRING",
    TAG_OID: "OBJECT IDENTIFIER",
    TAG_SEQUENCE: "SEQUENCE",
    TAG_SET: "SET",
    TAG_ATTRIBUTES: "[0] attributes",
}
_MAX_LENGTH_OCTETS: Final = 4


@dataclass(frozen=True)
class CsrPolicy:
    """What the certificate profile that will certify the request allows of it."""

    allow_ca: bool
    """True for a subordinate-CA profile; False (an OCSP responder...) refuses CA:TRUE requests."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Files larger than this are refused before any parsing."""
    allowed_hashes: frozenset[str] = field(default=STRONG_HASHES)
    """Hashes the request's own signature may use; a subset of sha256, sha384, sha512."""

    def __post_init__(self) -> None:
        weak_hashes = sorted(self.allowed_hashes - STRONG_HASHES)
        if weak_hashes:
            raise PkiError(
                f"CSR policy: the hash {', '.join(weak_hashes)} can never be allowed "
                "(sha256, sha384 or sha512 only)."
            )
        if not self.allowed_hashes:
            raise PkiError("CSR policy: at least one hash must be allowed.")
        if self.max_bytes <= 0:
            raise PkiError("CSR policy: max_bytes must be positive.")


@dataclass(frozen=True)
class RequestedExtension:
    """An extension the request asks for; shown to the witnesses, never copied by itself."""

    name: str
    """The RFC 5280 name, e.g. ``basicConstraints``, or ``unknown`` for an OID we cannot read."""
    oid: str
    critical: bool
    summary: str
    """The requested value in words, e.g. ``CA:TRUE, pathlen:0``."""


@dataclass(frozen=True)
class CheckedCsr:
    """A request that passed every check in :func:`load_csr`."""

    der: bytes
    sha256_hex: str
    subject: x509.Name
    subject_text: str
    """RFC 4514 string of the subject."""
    public_key: CertificatePublicKeyTypes
    spki_der: bytes
    spki_sha256_hex: str
    key_description: str
    signature_algorithm: str
    requested_extensions: tuple[RequestedExtension, ...]

    def facts(self) -> tuple[tuple[str, str], ...]:
        """What the witnesses read before anything is signed, as (label, value) pairs."""
        rows: list[tuple[str, str]] = [
            ("Subject", self.subject_text),
            ("Public key", self.key_description),
            ("SPKI SHA-256", grouped_hex(self.spki_sha256_hex)),
            ("Signature algorithm", f"{self.signature_algorithm} (signature verified)"),
        ]
        if not self.requested_extensions:
            rows.append(("Requested extensions", "none"))
        for ext in self.requested_extensions:
            label = f"Requested {ext.name} ({ext.oid})" + (", critical" if ext.critical else "")
            rows.append((label, f"{ext.summary}; {NOT_COPIED}"))
        rows.append(("CSR SHA-256", grouped_hex(self.sha256_hex)))
        return tuple(rows)


def grouped_hex(hex_digest: str) -> str:
    """Upper-case hex in groups of 4 separated by spaces, as the room reads fingerprints."""
    upper = hex_digest.upper()
    return " ".join(upper[i : i + 4] for i in range(0, len(upper), 4))


def load_csr(data: bytes, source: str, policy: CsrPolicy) -> CheckedCsr:
    """Check a PEM or DER PKCS#10 request completely; raise PkiError("{source}: ...") otherwise.

    The checks, in order, are listed in docs/csr-checks.md.
    """
    if not data:
        raise PkiError(f"{source}: the file is empty; expected a PEM or DER certificate request.")
    if len(data) > policy.max_bytes:
        raise PkiError(
            f"{source}: the request is {len(data)} bytes; at most {policy.max_bytes} are accepted."
        )
    der = _der_from(data, source)
    walked = _check_structure(der, source)
    spki_raw = walked.spki_der
    try:
        csr = x509.load_der_x509_csr(der)
    except ValueError as exc:
        raise PkiError(
            f"{source}: the request does not parse as a PKCS#10 CertificationRequest (RFC 2986)."
        ) from exc
    public_key, key_description = _check_public_key(csr, spki_raw, source)
    signature_algorithm = _check_signature_algorithm(csr, source, policy)
    try:
        signature_ok = csr.is_signature_valid
    except Exception as exc:  # cryptography raises several types for a malformed signature
        raise PkiError(f"{source}: the request's signature cannot be checked.") from exc
    if not signature_ok:
        raise PkiError(
            f"{source}: the request's signature does not verify with its own public key "
            "(no proof of possession, RFC 2986 3)."
        )
    subject = _check_subject(csr, source)
    extensions = _check_extensions(csr, source, policy, walked.requested_oids)
    return CheckedCsr(
        der=der,
        sha256_hex=hashlib.sha256(der).hexdigest(),
        subject=subject,
        subject_text=subject.rfc4514_string(),
        public_key=public_key,
        spki_der=spki_raw,
        spki_sha256_hex=hashlib.sha256(spki_raw).hexdigest(),
        key_description=key_description,
        signature_algorithm=signature_algorithm,
        requested_extensions=extensions,
    )


# --- framing ---------------------------------------------------------------------------------

_PEM_BEGIN: Final = re.compile(rb"-----BEGIN ([^\r\n]*?)-----")
_PEM_END: Final = re.compile(rb"-----END ([^\r\n]*?)-----")


def _der_from(data: bytes, source: str) -> bytes:
    if data[0] == TAG_SEQUENCE:
        return data
    if b"-----BEGIN " in data:
        return _der_from_pem(data, source)
    raise PkiError(
        f"{source}: neither a PEM nor a DER certificate request "
        f"(it starts with byte 0x{data[0]:02x}, not '-----BEGIN' or a DER SEQUENCE 0x30)."
    )


def _der_from_pem(data: bytes, source: str) -> bytes:
    text = data.strip()
    blocks = text.count(b"-----BEGIN ")
    if blocks > 1:
        raise PkiError(
            f"{source}: the file holds {blocks} PEM blocks; exactly one CERTIFICATE REQUEST "
            "is expected."
        )
    begin = _PEM_BEGIN.search(text)
    if begin is None:
        raise PkiError(f"{source}: the PEM BEGIN line is malformed.")
    if begin.start() != 0:
        raise PkiError(f"{source}: there is text before the PEM block (RFC 7468 section 2).")
    label = begin.group(1)
    if label != PEM_LABEL:
        raise PkiError(
            f'{source}: the PEM block is labelled "{_printable(label)}"; '
            'expected "CERTIFICATE REQUEST" (RFC 7468 section 7).'
        )
    end = _PEM_END.search(text, begin.end())
    if end is None:
        raise PkiError(f"{source}: the PEM block has no END line.")
    if end.group(1) != label:
        raise PkiError(
            f'{source}: the PEM block begins as "{_printable(label)}" '
            f'but ends as "{_printable(end.group(1))}".'
        )
    if end.end() != len(text):
        raise PkiError(f"{source}: there is text after the PEM block (RFC 7468 section 2).")
    body = b"".join(text[begin.end() : end.start()].split())
    if not body:
        raise PkiError(f"{source}: the PEM block is empty.")
    try:
        return binascii.a2b_base64(body, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise PkiError(f"{source}: the PEM body is not valid base64 (RFC 7468 section 3).") from exc


def _printable(raw: bytes) -> str:
    text = raw.decode("ascii", errors="replace")
    return text if len(text) <= 40 else text[:40] + "..."


# --- our own DER walk ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tlv:
    tag: int
    start: int
    content: int
    end: int


def _read_tlv(der: bytes, offset: int, limit: int, what: str, source: str) -> _Tlv:
    """One DER element at ``offset``, refusing BER forms and anything past ``limit``."""
    if offset + 2 > limit:
        raise PkiError(f"{source}: the DER is truncated: {what} is missing.")
    tag = der[offset]
    if tag & 0x1F == 0x1F:
        raise PkiError(f"{source}: {what} has a multi-byte tag, which PKCS#10 never uses.")
    first = der[offset + 1]
    content = offset + 2
    if first == 0x80:
        raise PkiError(f"{source}: {what} has an indefinite length (BER, not DER; X.690 10.1).")
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count > _MAX_LENGTH_OCTETS:
            raise PkiError(f"{source}: {what} declares a length of {count} octets; too long.")
        if content + count > limit:
            raise PkiError(f"{source}: the DER is truncated inside the length of {what}.")
        length = int.from_bytes(der[content : content + count], "big")
        if der[content] == 0 or length < 0x80:
            raise PkiError(
                f"{source}: {what} has a non-minimal length encoding (BER, not DER; X.690 10.1)."
            )
        content += count
    end = content + length
    if end > limit:
        raise PkiError(
            f"{source}: the DER is truncated: {what} declares {length} bytes "
            f"but only {limit - content} follow."
        )
    return _Tlv(tag, offset, content, end)


def _children(der: bytes, parent: _Tlv, what: str, source: str) -> list[_Tlv]:
    items: list[_Tlv] = []
    offset = parent.content
    while offset < parent.end:
        item = _read_tlv(der, offset, parent.end, f"an element of {what}", source)
        items.append(item)
        offset = item.end
    return items


def _expect(items: list[_Tlv], tags: tuple[int, ...], what: str, source: str) -> None:
    found = tuple(item.tag for item in items)
    if found != tags:
        expected = ", ".join(_TAG_NAMES.get(tag, f"0x{tag:02x}") for tag in tags)
        raise PkiError(
            f"{source}: this is not a PKCS#10 request (RFC 2986 4): {what} must hold {expected}."
        )


def _oid_text(der: bytes, item: _Tlv, what: str, source: str) -> str:
    if item.tag != TAG_OID or item.end == item.content:
        raise PkiError(f"{source}: {what} is not an OBJECT IDENTIFIER.")
    arcs: list[int] = []
    value = 0
    for index in range(item.content, item.end):
        byte = der[index]
        if value == 0 and byte == 0x80:
            raise PkiError(f"{source}: {what} is not a DER OBJECT IDENTIFIER (X.690 8.19).")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if der[item.end - 1] & 0x80:
        raise PkiError(f"{source}: {what} is not a DER OBJECT IDENTIFIER (X.690 8.19).")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


@dataclass(frozen=True)
class _Walked:
    spki_der: bytes
    """The SubjectPublicKeyInfo exactly as the request encodes it."""
    requested_oids: tuple[str, ...]


def _check_structure(der: bytes, source: str) -> _Walked:
    """Walk the PKCS#10 structure ourselves; return what later checks need from the raw bytes."""
    if der[:1] != bytes([TAG_SEQUENCE]):
        raise PkiError(f"{source}: the DER does not start with a SEQUENCE (0x30).")
    outer = _read_tlv(der, 0, len(der), "the CertificationRequest SEQUENCE", source)
    if outer.end != len(der):
        raise PkiError(
            f"{source}: {len(der) - outer.end} bytes follow the end of the DER request "
            "(trailing data)."
        )
    parts = _children(der, outer, "the CertificationRequest", source)
    _expect(parts, (TAG_SEQUENCE, TAG_SEQUENCE, TAG_BIT_STRING), "CertificationRequest", source)
    info = _children(der, parts[0], "the CertificationRequestInfo", source)
    _expect(
        info,
        (TAG_INTEGER, TAG_SEQUENCE, TAG_SEQUENCE, TAG_ATTRIBUTES),
        "CertificationRequestInfo",
        source,
    )
    if info[0].end == info[0].content:
        raise PkiError(f"{source}: the request's version is an empty INTEGER (RFC 2986 4.1).")
    version = int.from_bytes(der[info[0].content : info[0].end], "big", signed=True)
    if version != 0:
        raise PkiError(
            f"{source}: the request's version is {version}; PKCS#10 defines only version 0 (v1) "
            "(RFC 2986 4.1)."
        )
    spki = info[2]
    _check_raw_key(der, spki, source)
    requested_oids = _check_attributes(der, info[3], source)
    return _Walked(der[spki.start : spki.end], requested_oids)


def _spki_algorithm(spki_der: bytes, source: str) -> str:
    """The dotted OID of a SubjectPublicKeyInfo's algorithm (already walked: cannot fail)."""
    spki = _read_tlv(spki_der, 0, len(spki_der), "the SubjectPublicKeyInfo", source)
    fields = _children(spki_der, spki, "the SubjectPublicKeyInfo", source)
    algorithm = _children(spki_der, fields[0], "the public key AlgorithmIdentifier", source)
    return _oid_text(spki_der, algorithm[0], "the public key algorithm", source)


def _check_raw_key(der: bytes, spki: _Tlv, source: str) -> None:
    """Run our RSA and EC checks on the encoded key before any library loads (and normalises) it.

    cryptography refuses some broken keys itself (an even RSA exponent, an EC point off the
    curve) with messages of its own; reading the numbers here makes the refusal ours and precise.
    """
    fields = _children(der, spki, "the SubjectPublicKeyInfo", source)
    _expect(fields, (TAG_SEQUENCE, TAG_BIT_STRING), "SubjectPublicKeyInfo", source)
    algorithm = _children(der, fields[0], "the public key AlgorithmIdentifier", source)
    if not algorithm:
        raise PkiError(f"{source}: the public key AlgorithmIdentifier is empty.")
    oid = _oid_text(der, algorithm[0], "the public key algorithm", source)
    key_bits = der[fields[1].content + 1 : fields[1].end]
    if oid == OID_RSA_ENCRYPTION:
        _check_raw_rsa(key_bits, source)
    elif oid == OID_EC_PUBLIC_KEY and len(algorithm) == 2 and algorithm[1].tag == TAG_OID:
        curve = EC_NAMED_CURVES.get(_oid_text(der, algorithm[1], "the EC curve", source))
        if curve is None or len(key_bits) != 1 + 2 * curve[1] or key_bits[0] != EC_UNCOMPRESSED:
            return  # another curve or a compressed point: checked once cryptography loaded it
        size = curve[1]
        x = int.from_bytes(key_bits[1 : 1 + size], "big")
        y = int.from_bytes(key_bits[1 + size :], "big")
        weak.check_ec_point(curve[0], x, y, source)


def _check_raw_rsa(key_bits: bytes, source: str) -> None:
    """RFC 8017 A.1.1 RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }."""
    if key_bits[:1] != bytes([TAG_SEQUENCE]):
        return  # not an RSAPublicKey: cryptography refuses it when loading
    outer = _read_tlv(key_bits, 0, len(key_bits), "the RSAPublicKey", source)
    numbers = _children(key_bits, outer, "the RSAPublicKey", source)
    if outer.end != len(key_bits) or tuple(item.tag for item in numbers) != (TAG_INTEGER,) * 2:
        return
    n, e = (
        int.from_bytes(key_bits[item.content : item.end], "big", signed=True) for item in numbers
    )
    if n > 0 and e > 0:
        weak.check_rsa_numbers(n, e, source)


def _check_attributes(der: bytes, attributes: _Tlv, source: str) -> tuple[str, ...]:
    seen_request = False
    requested_oids: tuple[str, ...] = ()
    for attribute in _children(der, attributes, "the attributes", source):
        parts = _children(der, attribute, "an attribute", source)
        _expect(parts, (TAG_OID, TAG_SET), "an attribute", source)
        oid = _oid_text(der, parts[0], "an attribute type", source)
        if oid != OID_EXTENSION_REQUEST:
            name = ATTRIBUTE_NAMES.get(oid, "unknown")
            raise PkiError(
                f"{source}: the request carries the attribute {oid} ({name}); "
                "only extensionRequest is accepted."
            )
        if seen_request:
            raise PkiError(
                f"{source}: the extensionRequest attribute appears twice; at most once is allowed."
            )
        seen_request = True
        values = _children(der, parts[1], "the extensionRequest values", source)
        if len(values) != 1:
            raise PkiError(
                f"{source}: the extensionRequest attribute has {len(values)} values; "
                "exactly one is allowed (RFC 2985 5.4.2)."
            )
        requested_oids = _check_requested_oids(der, values[0], source)
    return requested_oids


def _check_requested_oids(der: bytes, extensions: _Tlv, source: str) -> tuple[str, ...]:
    if extensions.tag != TAG_SEQUENCE:
        raise PkiError(f"{source}: the extensionRequest value is not a SEQUENCE of extensions.")
    seen: set[str] = set()
    oids: list[str] = []
    for extension in _children(der, extensions, "the requested extensions", source):
        parts = _children(der, extension, "a requested extension", source)
        if not parts:
            raise PkiError(f"{source}: a requested extension is empty.")
        oid = _oid_text(der, parts[0], "a requested extension's OID", source)
        if oid in seen:
            name = EXTENSION_NAMES.get(x509.ObjectIdentifier(oid), "unknown")
            raise PkiError(
                f"{source}: the extension {oid} ({name}) is requested twice (RFC 5280 4.2)."
            )
        seen.add(oid)
        oids.append(oid)
    return tuple(oids)


# --- checks on the parsed request ------------------------------------------------------------


def _check_signature_algorithm(
    csr: x509.CertificateSigningRequest, source: str, policy: CsrPolicy
) -> str:
    oid = csr.signature_algorithm_oid.dotted_string
    known = SIGNATURE_ALGORITHMS.get(oid)
    if known is None:
        raise PkiError(
            f"{source}: the signature algorithm {oid} is not supported "
            "(RSA PKCS#1 v1.5, ECDSA or Ed25519 only)."
        )
    name, hash_name = known
    if hash_name is not None and hash_name not in policy.allowed_hashes:
        raise PkiError(
            f"{source}: the request is signed with {name}; the hash {hash_name} is not accepted "
            f"({', '.join(sorted(policy.allowed_hashes))} only)."
        )
    return name


def _check_public_key(
    csr: x509.CertificateSigningRequest, spki_raw: bytes, source: str
) -> tuple[CertificatePublicKeyTypes, str]:
    key_oid = _spki_algorithm(spki_raw, source)
    try:
        public_key = csr.public_key()
    except Exception as exc:  # ValueError or UnsupportedAlgorithm, depending on the key
        raise PkiError(f"{source}: the public key (algorithm {key_oid}) cannot be read.") from exc
    description = weak.check_public_key(public_key, source)
    encoded = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if encoded != spki_raw:
        raise PkiError(
            f"{source}: the SubjectPublicKeyInfo is not in the canonical encoding a certificate "
            "would carry (e.g. a compressed EC point); its fingerprint would change."
        )
    return public_key, description


def _check_subject(csr: x509.CertificateSigningRequest, source: str) -> x509.Name:
    try:
        subject = csr.subject
        text = subject.rfc4514_string()
    except ValueError as exc:
        raise PkiError(f"{source}: the subject cannot be parsed.") from exc
    if not text:
        raise PkiError(
            f"{source}: the subject is empty; a CA certificate's subject needs at least "
            "organizationName and commonName (BR 7.1.2.10.2)."
        )
    for oid, name in (
        (NameOID.COMMON_NAME, "commonName"),
        (NameOID.ORGANIZATION_NAME, "organizationName"),
    ):
        if not subject.get_attributes_for_oid(oid):
            raise PkiError(
                f"{source}: the subject {text} has no {name} ({oid.dotted_string}); "
                "BR 7.1.2.10.2 requires one."
            )
    for attribute in subject:
        value = attribute.value
        text_value = value if isinstance(value, str) else value.decode("latin-1")
        oid = attribute.oid
        label = f"{NAME_ATTRIBUTES.get(oid, 'attribute')} ({oid.dotted_string})"
        _require_displayable(text_value, f"the subject's {label}", source)
    return subject


_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
"""Unicode categories that a screen does not show as they are: control and format characters
(newlines, bidi overrides such as U+202E, zero-width joiners), private use, unassigned."""


def _require_displayable(text: str, what: str, source: str) -> None:
    """Refuse text the witnesses could not read as it is (it might display as something else)."""
    for char in text:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            raise PkiError(
                f"{source}: {what} contains the invisible or control character "
                f"U+{ord(char):04X}; the witnesses could not read it as it is."
            )


def _check_extensions(
    csr: x509.CertificateSigningRequest,
    source: str,
    policy: CsrPolicy,
    requested_oids: tuple[str, ...],
) -> tuple[RequestedExtension, ...]:
    try:
        extensions = csr.extensions
    except x509.DuplicateExtension as exc:  # our DER walk sees it first; kept as a backstop
        raise PkiError(
            f"{source}: the extension {exc.oid.dotted_string} is requested twice (RFC 5280 4.2)."
        ) from exc
    except ValueError as exc:
        raise PkiError(
            f"{source}: a requested extension value is malformed and cannot be parsed "
            f"(requested: {', '.join(requested_oids)})."
        ) from exc
    requested: list[RequestedExtension] = []
    for extension in extensions:
        oid = extension.oid.dotted_string
        name = EXTENSION_NAMES.get(extension.oid)
        if name is None and extension.critical:
            raise PkiError(
                f"{source}: the request marks the unknown extension {oid} critical; "
                "Sealroom cannot read it (RFC 5280 4.2)."
            )
        value = extension.value
        if isinstance(value, x509.BasicConstraints) and value.ca and not policy.allow_ca:
            raise PkiError(
                f"{source}: the request asks for basicConstraints CA:TRUE, "
                "which this certificate profile does not allow."
            )
        summary = _summary(value)
        _require_displayable(summary, f"the requested {name or 'extension'} ({oid})", source)
        requested.append(
            RequestedExtension(
                name=name or "unknown", oid=oid, critical=extension.critical, summary=summary
            )
        )
    return tuple(requested)


def _summary(value: x509.ExtensionType) -> str:
    if isinstance(value, x509.BasicConstraints):
        if not value.ca:
            return "CA:FALSE"
        return "CA:TRUE" + ("" if value.path_length is None else f", pathlen:{value.path_length}")
    if isinstance(value, x509.KeyUsage):
        return ", ".join(_key_usages(value)) or "(none)"
    if isinstance(value, x509.ExtendedKeyUsage):
        return ", ".join(EKU_NAMES.get(oid, oid.dotted_string) for oid in value)
    if isinstance(value, x509.SubjectAlternativeName):
        return ", ".join(_general_name(name) for name in value)
    if isinstance(value, x509.SubjectKeyIdentifier):
        return value.digest.hex()
    if isinstance(value, x509.UnrecognizedExtension):
        return f"{len(value.value)} bytes, not interpreted"
    return f"{len(value.public_bytes())} bytes"


def _key_usages(value: x509.KeyUsage) -> list[str]:
    usages = [
        ("digitalSignature", value.digital_signature),
        ("nonRepudiation", value.content_commitment),
        ("keyEncipherment", value.key_encipherment),
        ("dataEncipherment", value.data_encipherment),
        ("keyAgreement", value.key_agreement),
        ("keyCertSign", value.key_cert_sign),
        ("cRLSign", value.crl_sign),
    ]
    if value.key_agreement:
        usages += [("encipherOnly", value.encipher_only), ("decipherOnly", value.decipher_only)]
    return [name for name, present in usages if present]


def _general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{name.value.rfc4514_string()}"
    return type(name).__name__
