"""The wrapped-key blob format: round trip, a specific error for each bad input, bindings."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from sealroom.backup.blob import (
    BEGIN_LINE,
    END_LINE,
    Blob,
    BlobChecksumError,
    BlobFormatError,
    BlobLengthError,
    BlobMechanismError,
    BlobMismatchError,
    BlobTruncatedError,
    BlobVersionError,
    blob_for,
    blob_sha256,
    decode_blob,
    encode_blob,
    require_kek_matches,
    wrapped_key_of,
)
from sealroom.backup.kek import kek_check_value
from sealroom.ceremony.ports import WrappedKey

KEK = bytes(range(32))
KEY = ec.generate_private_key(ec.SECP384R1())
SPKI = KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
PKCS8 = KEY.private_bytes(
    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)


def _certificate(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Root CA R2")])
    start = datetime(2027, 1, 1, tzinfo=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA384())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


CERTIFICATE = _certificate(KEY)
WRAPPED = WrappedKey(
    key_id="r2-key",
    label="exr-root-r2-2027",
    cka_id_hex="00112233445566778899aabbccddeeff",
    key_type="EC",
    mechanism="CKM_AES_KEY_WRAP_PAD",
    wrapped=keywrap.aes_key_wrap_with_padding(KEK, PKCS8 + bytes(-len(PKCS8) % 8)),
    spki_der=SPKI,
)


def _encoded(wrapped: WrappedKey = WRAPPED) -> bytes:
    return encode_blob(
        blob_for(wrapped, kek_check_value=kek_check_value(KEK), certificate_der=CERTIFICATE)
    )


def _lines() -> list[str]:
    return _encoded().decode().splitlines()


def _join(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_a_blob_round_trips_and_names_its_key_kek_and_certificate() -> None:
    data = _encoded()
    blob = decode_blob(data, where="MED-0201")
    assert blob.wrapped == WRAPPED.wrapped
    assert blob.kek_check_value == kek_check_value(KEK)
    assert blob.certificate_sha256 == hashlib.sha256(CERTIFICATE).hexdigest()
    assert blob.spki_sha256 == hashlib.sha256(SPKI).hexdigest()
    assert blob.key_label == "exr-root-r2-2027"
    assert blob.key_type == "EC"
    assert blob.cka_id_hex == WRAPPED.cka_id_hex
    assert blob_sha256(data) == hashlib.sha256(data).hexdigest()
    text = data.decode()
    assert text.startswith(BEGIN_LINE + "\nVersion: 1\nMechanism: CKM_AES_KEY_WRAP_PAD\n")
    assert text.endswith(END_LINE + "\n")
    assert all(len(line) <= 64 for line in text.splitlines()[11:-2])


def test_the_blob_unwraps_with_rfc_5649_as_the_documentation_says() -> None:
    lines = _lines()
    body = "".join(lines[lines.index("") + 1 : -2])
    padded = keywrap.aes_key_unwrap_with_padding(KEK, base64.b64decode(body))
    key = serialization.load_der_private_key(padded[: len(PKCS8)], None)
    assert (
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == SPKI
    )


def test_typed_variations_are_read_alike_crlf_spaces_lower_case_and_blank_lines() -> None:
    lines = [line + "  " for line in _lines()]
    lines[3] = lines[3].lower()  # KEK-Check-Value in lower case hex
    retyped = ("\r\n".join(["", *lines, "", ""])).encode()
    assert decode_blob(retyped, where="typed") == decode_blob(_encoded(), where="file")


@settings(max_examples=60)
@given(st.binary(min_size=2, max_size=300).map(lambda b: b + bytes(-len(b) % 8)))
def test_any_wrapped_bytes_round_trip(wrapped: bytes) -> None:
    blob = Blob(
        version=1,
        mechanism="CKM_AES_KEY_WRAP_PAD",
        kek_check_value="A1B2C3",
        key_type="RSA",
        key_label="root-1",
        cka_id_hex="01",
        certificate_sha256=None,
        spki_sha256="ab" * 32,
        wrapped=wrapped if len(wrapped) >= 16 else wrapped + bytes(16),
    )
    assert decode_blob(encode_blob(blob), where="x") == blob


def test_a_key_without_a_certificate_yet_says_none() -> None:
    data = encode_blob(blob_for(WRAPPED, kek_check_value="A1B2C3", certificate_der=None))
    assert b"Certificate-SHA256: none\n" in data
    assert decode_blob(data, where="x").certificate_sha256 is None


def test_another_version_is_refused_by_name() -> None:
    lines = _lines()
    lines[1] = "Version: 2"
    with pytest.raises(BlobVersionError, match="MED-0201 is of format version 2; this Sealroom"):
        decode_blob(_join(lines), where="MED-0201")


def test_another_mechanism_is_refused_by_name() -> None:
    lines = _lines()
    lines[2] = "Mechanism: CKM_AES_KEY_WRAP"
    with pytest.raises(BlobMechanismError, match="wrapped with CKM_AES_KEY_WRAP; Sealroom"):
        decode_blob(_join(lines), where="MED-0201")


def test_a_file_cut_short_is_refused() -> None:
    data = _encoded()
    with pytest.raises(BlobTruncatedError, match="cut short: its last line is not"):
        decode_blob(data[: len(data) // 2], where="MED-0201")


def test_a_missing_character_names_its_line() -> None:
    lines = _lines()
    first_body = lines.index("") + 1
    lines[first_body] = lines[first_body][:-1]
    with pytest.raises(BlobTruncatedError, match=rf"Line {first_body + 1} .* has 63 characters"):
        decode_blob(_join(lines), where="MED-0201")


def test_truncated_base64_on_the_last_line_is_refused() -> None:
    lines = _lines()
    lines[-3] = lines[-3][:-1]
    with pytest.raises(BlobTruncatedError, match=r"base64 text .* is cut short"):
        decode_blob(_join(lines), where="MED-0201")


def test_a_length_that_does_not_match_the_header_is_refused() -> None:
    lines = _lines()
    lines[9] = f"Wrapped-Length: {len(WRAPPED.wrapped) + 8}"
    with pytest.raises(
        BlobLengthError, match=f"holds {len(WRAPPED.wrapped)} bytes of wrapped key, but its"
    ):
        decode_blob(_join(lines), where="MED-0201")


def test_a_changed_character_fails_the_armour_checksum() -> None:
    lines = _lines()
    line = lines.index("") + 1
    lines[line] = ("B" if lines[line][0] != "B" else "C") + lines[line][1:]
    with pytest.raises(BlobChecksumError, match="checksum of the blob MED-0201 does not match"):
        decode_blob(_join(lines), where="MED-0201")
    label = _lines()
    label[5] = "Key-Label: exr-root-r3-2027"
    with pytest.raises(BlobChecksumError):
        decode_blob(_join(label), where="MED-0201")


@pytest.mark.parametrize(
    ("index", "line", "message"),
    [
        (4, "Key-Type: DSA", "Key-Type 'DSA'"),
        (3, "KEK-Check-Value: XYZ", "KEK-Check-Value is not 6 hex digits"),
        (4, "Colour: blue", "not one of its header lines"),
        (2, "Version: 1", "has the header Version twice"),
    ],
)
def test_malformed_headers_are_named(index: int, line: str, message: str) -> None:
    lines = _lines()
    lines[index] = line
    with pytest.raises(BlobFormatError, match=message):
        decode_blob(_join(lines), where="MED-0201")


def test_not_a_blob_and_not_ascii_are_refused() -> None:
    with pytest.raises(BlobFormatError, match="does not begin with"):
        decode_blob(b"-----BEGIN CERTIFICATE-----\n", where="x")
    with pytest.raises(BlobFormatError, match="not ASCII"):
        decode_blob("Version: \u00e9".encode(), where="x")


def test_the_binding_to_the_certificate_and_the_key_is_checked() -> None:
    blob = decode_blob(_encoded(), where="MED-0201")
    wrapped = wrapped_key_of(blob, key_id="r2-key", certificate_der=CERTIFICATE, where="MED-0201")
    assert wrapped == WRAPPED

    other = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(BlobMismatchError, match="made for the certificate with SHA-256"):
        wrapped_key_of(blob, key_id="r2-key", certificate_der=_certificate(other), where="MED-0201")
    other_spki = other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(BlobMismatchError, match="it is the backup of another key"):
        wrapped_key_of(
            blob, key_id="r2-key", certificate_der=None, spki_der=other_spki, where="MED-0201"
        )
    with pytest.raises(BlobMismatchError, match="certifies another public key"):
        blob_for(WRAPPED, kek_check_value="A1B2C3", certificate_der=_certificate(other))


def test_a_kek_with_another_check_value_is_refused_before_any_unwrap() -> None:
    blob = decode_blob(_encoded(), where="MED-0201")
    require_kek_matches(blob, KEK, where="MED-0201")
    with pytest.raises(BlobMismatchError, match="another key-encryption key"):
        require_kek_matches(blob, bytes(32), where="MED-0201")


def test_wrapped_bytes_that_rfc_5649_cannot_have_made_are_refused() -> None:
    with pytest.raises(BlobFormatError, match="not a whole number of 8-byte blocks"):
        blob_for(
            dataclasses.replace(WRAPPED, wrapped=WRAPPED.wrapped[:-3]),
            kek_check_value="A1B2C3",
            certificate_der=None,
        )
