"""The wrapped-key blob file: armoured text (docs/backup-blob.md) that can be printed and typed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealroom.backup.errors import BackupError
from sealroom.backup.kek import kek_check_value
from sealroom.ceremony.ports import WrappedKey

BLOB_VERSION: Final = 1
BLOB_MECHANISM: Final = "CKM_AES_KEY_WRAP_PAD"
BEGIN_LINE: Final = "-----BEGIN SEALROOM WRAPPED KEY-----"
END_LINE: Final = "-----END SEALROOM WRAPPED KEY-----"
CHECKSUM_FIELD: Final = "Checksum"
BASE64_LINE: Final = 64
"""Characters of base64 per line (every line but the last is exactly this long)."""
NO_CERTIFICATE: Final = "none"
"""``Certificate-SHA256`` of a key backed up before it has a certificate (a parked key)."""
FIELDS: Final = (
    "Version",
    "Mechanism",
    "KEK-Check-Value",
    "Key-Type",
    "Key-Label",
    "Key-Id",
    "Certificate-SHA256",
    "SPKI-SHA256",
    "Wrapped-Length",
)
"""The header lines, in this order, each once."""
_FIELD_NAMES: Final = {name.lower(): name for name in FIELDS}
"""Header names are read in any case (a typed blob); they are written as in FIELDS."""
SEMBLOCK: Final = 8
"""RFC 5649 output is a whole number of 8-byte blocks, at least two."""

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_KCV = re.compile(r"^[0-9a-fA-F]{6}$")
_CKA_ID = re.compile(r"^(?:[0-9a-fA-F]{2}){1,64}$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_DIGITS = re.compile(r"^[1-9][0-9]{0,5}$")
_KEY_TYPES: Final = ("RSA", "EC", "EdDSA")


class BlobError(BackupError):
    """A wrapped-key blob cannot be read or does not belong to what it is used for.

    The message names the file (or medium) and the line or field that is wrong.
    """


class BlobFormatError(BlobError):
    """The text is not a well-formed Sealroom wrapped-key blob (a header or line is wrong)."""


class BlobVersionError(BlobError):
    """The blob is of a format version this Sealroom does not read."""


class BlobMechanismError(BlobError):
    """The blob was wrapped with another mechanism than CKM_AES_KEY_WRAP_PAD."""


class BlobTruncatedError(BlobError):
    """The blob is cut short: its END line, a base64 character or a line is missing."""


class BlobLengthError(BlobError):
    """The wrapped bytes are not as many as the Wrapped-Length header says."""


class BlobChecksumError(BlobError):
    """The armour's checksum does not match its content: something was changed or mistyped."""


class BlobMismatchError(BlobError):
    """The blob is not for this certificate, this public key or this key-encryption key."""


@dataclass(frozen=True)
class Blob:
    """A CA private key wrapped under a KEK, with what identifies the key and the KEK (public)."""

    version: int
    mechanism: str
    kek_check_value: str
    """Six upper-case hex digits (``kek.kek_check_value``)."""
    key_type: Literal["RSA", "EC", "EdDSA"]
    key_label: str
    cka_id_hex: str
    certificate_sha256: str | None
    """Lower-case hex SHA-256 of the CA certificate's DER, or None for a key with none yet."""
    spki_sha256: str
    """Lower-case hex SHA-256 of the key pair's DER SubjectPublicKeyInfo (its fingerprint)."""
    wrapped: bytes
    """What C_WrapKey returned (RFC 5649 ciphertext)."""


def blob_for(wrapped: WrappedKey, *, kek_check_value: str, certificate_der: bytes | None) -> Blob:
    """The blob of ``wrapped``, bound to the CA certificate (if the key has one yet).

    The certificate must certify the wrapped key's public key (BlobMismatchError otherwise).
    """
    spki_sha256 = hashlib.sha256(wrapped.spki_der).hexdigest()
    certificate_sha256 = None
    if certificate_der is not None:
        certificate_sha256 = hashlib.sha256(certificate_der).hexdigest()
        if _certificate_spki_sha256(certificate_der, "the certificate given") != spki_sha256:
            raise BlobMismatchError(
                f"The certificate given for the wrapped key '{wrapped.label}' certifies another "
                "public key; the blob was not made."
            )
    blob = Blob(
        version=BLOB_VERSION,
        mechanism=wrapped.mechanism,
        kek_check_value=kek_check_value.upper(),
        key_type=wrapped.key_type,
        key_label=wrapped.label,
        cka_id_hex=wrapped.cka_id_hex.lower(),
        certificate_sha256=certificate_sha256,
        spki_sha256=spki_sha256,
        wrapped=wrapped.wrapped,
    )
    _require_valid(blob, f"the blob of '{wrapped.label}'")
    return blob


def encode_blob(blob: Blob) -> bytes:
    """The armoured text of ``blob`` (ASCII, LF line ends), as written to every medium."""
    _require_valid(blob, f"the blob of '{blob.key_label}'")
    body = _canonical_body(blob)
    checksum = hashlib.sha256("".join(f"{line}\n" for line in body).encode("ascii")).hexdigest()
    lines = [BEGIN_LINE, *body, f"{CHECKSUM_FIELD}: {checksum}", END_LINE]
    return "".join(f"{line}\n" for line in lines).encode("ascii")


def blob_sha256(data: bytes) -> str:
    """SHA-256 (lower-case hex) of the blob file's bytes: what the report prints, media match."""
    return hashlib.sha256(data).hexdigest()


def decode_blob(data: bytes, *, where: str) -> Blob:
    """Read a blob file; ``where`` names it (a path or medium) in every error.

    Tolerates CR LF line ends, trailing spaces, blank lines around the armour, header names and
    hex in either case (the checksum is over the canonical text, so only a change of content is
    refused).
    Each problem has its own error: BlobFormatError, BlobVersionError, BlobMechanismError,
    BlobTruncatedError, BlobLengthError, BlobChecksumError.
    """
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BlobFormatError(
            f"{where} is not a Sealroom wrapped-key blob: it holds bytes that are not ASCII text "
            f"(at byte {exc.start})."
        ) from exc
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    numbered = [(number, line) for number, line in enumerate(lines, start=1)]
    while numbered and not numbered[0][1]:
        numbered.pop(0)
    while numbered and not numbered[-1][1]:
        numbered.pop()
    if not numbered or numbered[0][1] != BEGIN_LINE:
        raise BlobFormatError(
            f"{where} is not a Sealroom wrapped-key blob: it does not begin with {BEGIN_LINE}."
        )
    if numbered[-1][1] != END_LINE:
        raise BlobTruncatedError(
            f"The blob {where} is cut short: its last line is not {END_LINE}. Copy the whole "
            "file again from another medium."
        )
    inner = numbered[1:-1]
    headers: dict[str, str] = {}
    position = 0
    while position < len(inner) and inner[position][1]:
        number, line = inner[position]
        typed_name, colon, value = line.partition(":")
        name = _FIELD_NAMES.get(typed_name.strip().lower(), "")
        if not colon or not name:
            raise BlobFormatError(
                f"Line {number} of the blob {where} is not one of its header lines "
                f"({', '.join(FIELDS)})."
            )
        if name in headers:
            raise BlobFormatError(f"The blob {where} has the header {name} twice (line {number}).")
        headers[name] = value.strip()
        position += 1
    version = headers.get("Version")
    if version is None:
        raise BlobFormatError(f"The blob {where} has no Version header line.")
    if version != str(BLOB_VERSION):
        raise BlobVersionError(
            f"The blob {where} is of format version {version}; this Sealroom reads version "
            f"{BLOB_VERSION} only. Use the Sealroom release that wrote it, or docs/backup-blob.md."
        )
    mechanism = headers.get("Mechanism")
    if mechanism != BLOB_MECHANISM:
        raise BlobMechanismError(
            f"The blob {where} was wrapped with {mechanism or 'no mechanism named'}; Sealroom "
            f"unwraps only {BLOB_MECHANISM}."
        )
    missing = [name for name in FIELDS if name not in headers]
    if missing:
        raise BlobFormatError(f"The blob {where} lacks the header line(s) {', '.join(missing)}.")
    body = inner[position + 1 :] if position < len(inner) else []
    if not body or not body[-1][1].startswith(f"{CHECKSUM_FIELD}:"):
        raise BlobTruncatedError(
            f"The blob {where} has no {CHECKSUM_FIELD} line before its END line: it is cut short "
            "or was edited."
        )
    checksum = body[-1][1].partition(":")[2].strip().lower()
    base64_lines = body[:-1]
    if not base64_lines:
        raise BlobTruncatedError(f"The blob {where} holds no wrapped key (no base64 lines).")
    for index, (number, line) in enumerate(base64_lines):
        if not _BASE64.match(line):
            raise BlobFormatError(
                f"Line {number} of the blob {where} is not base64 (only A-Z, a-z, 0-9, + and / "
                "are allowed, = only at the end)."
            )
        last = index == len(base64_lines) - 1
        if not last and len(line) < BASE64_LINE:
            raise BlobTruncatedError(
                f"Line {number} of the blob {where} has {len(line)} characters, not "
                f"{BASE64_LINE}: a character is missing on that line."
            )
        if len(line) > BASE64_LINE or (not last and len(line) != BASE64_LINE):
            raise BlobFormatError(
                f"Line {number} of the blob {where} has {len(line)} characters, not "
                f"{BASE64_LINE}: a character is extra on that line."
            )
    joined = "".join(line for _number, line in base64_lines)
    if len(joined) % 4:
        raise BlobTruncatedError(
            f"The base64 text of the blob {where} is cut short ({len(joined)} characters, not a "
            f"multiple of 4): a character is missing on its last line (line "
            f"{base64_lines[-1][0]})."
        )
    try:
        wrapped = base64.b64decode(joined, validate=True)
    except binascii.Error as exc:
        raise BlobFormatError(f"The base64 text of the blob {where} is damaged.") from exc
    length = headers["Wrapped-Length"]
    if not _DIGITS.match(length):
        raise BlobFormatError(f"The blob {where} has the Wrapped-Length '{length}', not a number.")
    if len(wrapped) != int(length):
        raise BlobLengthError(
            f"The blob {where} holds {len(wrapped)} bytes of wrapped key, but its Wrapped-Length "
            f"header says {length}: part of it is missing or extra."
        )
    certificate = headers["Certificate-SHA256"]
    key_type = headers["Key-Type"]
    if key_type not in _KEY_TYPES:
        raise BlobFormatError(
            f"The blob {where} has the Key-Type '{key_type}'; it must be RSA, EC or EdDSA."
        )
    blob = Blob(
        version=BLOB_VERSION,
        mechanism=BLOB_MECHANISM,
        kek_check_value=headers["KEK-Check-Value"].upper(),
        key_type=key_type,  # type: ignore[arg-type]  # checked just above
        key_label=headers["Key-Label"],
        cka_id_hex=headers["Key-Id"].lower(),
        certificate_sha256=None if certificate == NO_CERTIFICATE else certificate.lower(),
        spki_sha256=headers["SPKI-SHA256"].lower(),
        wrapped=wrapped,
    )
    _require_valid(blob, f"the blob {where}")
    canonical = "".join(f"{line}\n" for line in _canonical_body(blob)).encode("ascii")
    if hashlib.sha256(canonical).hexdigest() != checksum:
        raise BlobChecksumError(
            f"The checksum of the blob {where} does not match its content: a header or a "
            "base64 character was changed or mistyped. Compare it with the printed blob or "
            "another medium."
        )
    return blob


def wrapped_key_of(
    blob: Blob,
    *,
    key_id: str,
    certificate_der: bytes | None,
    spki_der: bytes | None = None,
    where: str,
) -> WrappedKey:
    """The ``WrappedKey`` to unwrap, once the blob is shown to be for this CA key.

    With ``certificate_der`` (the CA certificate): its SHA-256 must be the blob's (if the blob
    names one) and its public key the blob's. Without it, ``spki_der`` (from the key inventory)
    must be the blob's public key. BlobMismatchError names which binding fails.
    """
    if certificate_der is not None:
        certificate_sha256 = hashlib.sha256(certificate_der).hexdigest()
        if blob.certificate_sha256 is not None and certificate_sha256 != blob.certificate_sha256:
            raise BlobMismatchError(
                f"The blob {where} was made for the certificate with SHA-256 "
                f"{blob.certificate_sha256}, not for this one ({certificate_sha256}): it is the "
                "backup of another CA key or certificate."
            )
        spki_der = _certificate_spki(certificate_der, "the CA certificate")
    if spki_der is None:
        raise BlobMismatchError(
            f"The blob {where} cannot be checked: neither the CA certificate nor the key's public "
            "key was given."
        )
    spki_sha256 = hashlib.sha256(spki_der).hexdigest()
    if spki_sha256 != blob.spki_sha256:
        raise BlobMismatchError(
            f"The blob {where} holds the key with public-key fingerprint {blob.spki_sha256}, not "
            f"the expected key ({spki_sha256}): it is the backup of another key."
        )
    return WrappedKey(
        key_id=key_id,
        label=blob.key_label,
        cka_id_hex=blob.cka_id_hex,
        key_type=blob.key_type,
        mechanism=blob.mechanism,
        wrapped=blob.wrapped,
        spki_der=spki_der,
    )


def require_kek_matches(blob: Blob, kek: bytes | bytearray, *, where: str) -> None:
    """BlobMismatchError unless ``kek``'s check value is the blob's (before any unwrap)."""
    value = kek_check_value(kek)
    if value != blob.kek_check_value:
        raise BlobMismatchError(
            f"The key-encryption key entered has the check value {value}, but the blob {where} "
            f"was wrapped under the one with {blob.kek_check_value}: these shares are of another "
            "key-encryption key."
        )


def _canonical_body(blob: Blob) -> list[str]:
    """Header lines, the blank line and the base64 lines, as encode writes them."""
    encoded = base64.b64encode(blob.wrapped).decode("ascii")
    values = {
        "Version": str(blob.version),
        "Mechanism": blob.mechanism,
        "KEK-Check-Value": blob.kek_check_value,
        "Key-Type": blob.key_type,
        "Key-Label": blob.key_label,
        "Key-Id": blob.cka_id_hex,
        "Certificate-SHA256": blob.certificate_sha256 or NO_CERTIFICATE,
        "SPKI-SHA256": blob.spki_sha256,
        "Wrapped-Length": str(len(blob.wrapped)),
    }
    return [
        *(f"{name}: {values[name]}" for name in FIELDS),
        "",
        *(encoded[i : i + BASE64_LINE] for i in range(0, len(encoded), BASE64_LINE)),
    ]


def _require_valid(blob: Blob, what: str) -> None:
    """BlobFormatError naming the first field of ``blob`` that is not as the format says."""
    problem = None
    if blob.version != BLOB_VERSION:
        problem = f"version {blob.version} is not {BLOB_VERSION}"
    elif blob.mechanism != BLOB_MECHANISM:
        problem = f"the mechanism is {blob.mechanism}, not {BLOB_MECHANISM}"
    elif not _KCV.match(blob.kek_check_value):
        problem = "the KEK-Check-Value is not 6 hex digits"
    elif blob.key_type not in _KEY_TYPES:
        problem = "the Key-Type is not RSA, EC or EdDSA"
    elif not _LABEL.match(blob.key_label):
        problem = "the Key-Label is not a key label (letters, digits, '.', '_', '-'; 1-32)"
    elif not _CKA_ID.match(blob.cka_id_hex):
        problem = "the Key-Id is not an even number of hex digits"
    elif blob.certificate_sha256 is not None and not _HEX64.match(blob.certificate_sha256):
        problem = "the Certificate-SHA256 is not 64 hex digits (or 'none')"
    elif not _HEX64.match(blob.spki_sha256):
        problem = "the SPKI-SHA256 is not 64 hex digits"
    elif len(blob.wrapped) < 2 * SEMBLOCK or len(blob.wrapped) % SEMBLOCK:
        problem = (
            f"the wrapped key is {len(blob.wrapped)} bytes, not a whole number of 8-byte blocks "
            "(at least 16) as RFC 5649 makes"
        )
    if problem is not None:
        raise BlobFormatError(f"In {what}, {problem}.")


def _certificate_spki(certificate_der: bytes, what: str) -> bytes:
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError as exc:
        raise BlobMismatchError(f"{what.capitalize()} is not a DER X.509 certificate.") from exc
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _certificate_spki_sha256(certificate_der: bytes, what: str) -> str:
    return hashlib.sha256(_certificate_spki(certificate_der, what)).hexdigest()
