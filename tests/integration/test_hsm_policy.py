"""The key attribute policy and the little DER helpers, checked without a token."""

from __future__ import annotations

from typing import Any

import pytest
from pkcs11 import Attribute, KeyType

from sealroom.errors import HsmError
from sealroom.hsm.algorithms import KEY_ALGORITHMS, SECP256R1_OID, SECP384R1_OID
from sealroom.hsm.encoding import der_length, der_object_identifier, der_octet_string_content
from sealroom.hsm.policy import (
    PRIVATE_KEY_FLAGS,
    ReadBack,
    expected_private_flags,
    expected_public_flags,
    int_bytes,
    policy_findings,
    private_template,
    public_template,
    verify_policy,
)

CKA_ID = bytes(range(16))


def compliant(algorithm: str, backup: bool = False) -> ReadBack:
    profile = KEY_ALGORITHMS[algorithm]  # type: ignore[index]
    common: dict[Attribute, Any] = {
        Attribute.LABEL: "root",
        Attribute.ID: CKA_ID,
        Attribute.KEY_GEN_MECHANISM: profile.mechanism,
        Attribute.KEY_TYPE: profile.pkcs11_key_type,
    }
    private: dict[Attribute, Any] = {**expected_private_flags(backup), **common}
    public: dict[Attribute, Any] = {**expected_public_flags(), **common}
    if profile.key_type == "RSA":
        modulus = (1 << (profile.size_bits - 1) | 1).to_bytes(profile.size_bits // 8, "big")
        exponent = int_bytes(65537)
        private |= {Attribute.MODULUS: modulus, Attribute.PUBLIC_EXPONENT: exponent}
        public |= {
            Attribute.MODULUS: modulus,
            Attribute.PUBLIC_EXPONENT: exponent,
            Attribute.MODULUS_BITS: profile.size_bits,
        }
    else:
        private[Attribute.EC_PARAMS] = profile.ec_params
        public[Attribute.EC_PARAMS] = profile.ec_params
    return ReadBack(private=private, public=public)


@pytest.mark.parametrize(
    "algorithm", ["rsa-3072", "rsa-4096", "ec-p256", "ec-p384", "ec-p521", "ed25519"]
)
def test_a_compliant_pair_has_no_findings(algorithm: str) -> None:
    profile = KEY_ALGORITHMS[algorithm]  # type: ignore[index]
    for backup in (False, True):
        read_back = compliant(algorithm, backup)
        assert policy_findings(read_back, profile, backup=backup, label="root", cka_id=CKA_ID) == []


def test_every_deviation_is_named() -> None:
    profile = KEY_ALGORITHMS["rsa-4096"]
    good = compliant("rsa-4096")
    bad_private = dict(good.private) | {
        Attribute.EXTRACTABLE: True,
        Attribute.DECRYPT: True,
        Attribute.ID: b"other",
    }
    del bad_private[Attribute.UNWRAP]
    bad_public = dict(good.public) | {Attribute.MODULUS_BITS: 2048, Attribute.ENCRYPT: True}
    findings = policy_findings(
        ReadBack(bad_private, bad_public), profile, backup=False, label="root", cka_id=CKA_ID
    )
    text = "; ".join(findings)
    assert "private key EXTRACTABLE is True, expected False" in text
    assert "private key DECRYPT is True, expected False" in text
    assert "private key UNWRAP could not be read" in text
    assert "private key ID" in text
    assert "public key MODULUS_BITS is 2048, expected 4096" in text
    assert "public key ENCRYPT is True, expected False" in text
    with pytest.raises(HsmError, match="does not have the attributes"):
        verify_policy(
            ReadBack(bad_private, bad_public), profile, backup=False, label="root", cka_id=CKA_ID
        )


def test_wrong_curve_and_key_type_are_named() -> None:
    profile = KEY_ALGORITHMS["ec-p384"]
    good = compliant("ec-p384")
    wrong = ReadBack(
        dict(good.private) | {Attribute.EC_PARAMS: der_object_identifier(SECP256R1_OID)},
        dict(good.public) | {Attribute.KEY_TYPE: KeyType.RSA},
    )
    text = "; ".join(policy_findings(wrong, profile, backup=False, label="root", cka_id=CKA_ID))
    assert "private key EC_PARAMS" in text
    assert "public key KEY_TYPE" in text


def test_templates_state_every_capability_explicitly() -> None:
    private = private_template(backup=False)
    assert private[Attribute.SIGN] is True
    for attribute in (
        Attribute.DECRYPT,
        Attribute.UNWRAP,
        Attribute.DERIVE,
        Attribute.SIGN_RECOVER,
    ):
        assert private[attribute] is False
    assert private[Attribute.EXTRACTABLE] is False
    assert private_template(backup=True)[Attribute.EXTRACTABLE] is True
    public = public_template(KEY_ALGORITHMS["rsa-3072"])
    assert public[Attribute.VERIFY] is True
    assert public[Attribute.ENCRYPT] is False and public[Attribute.WRAP] is False
    assert public[Attribute.PUBLIC_EXPONENT] == b"\x01\x00\x01"
    assert public[Attribute.MODULUS_BITS] == 3072


def test_recorded_flags_are_the_private_key_booleans_by_name() -> None:
    flags = compliant("ec-p256").flags()
    assert list(flags) == [attribute.name for attribute in PRIVATE_KEY_FLAGS]
    assert flags["SENSITIVE"] is True and flags["EXTRACTABLE"] is False


def test_curve_oids_encode_as_the_rfc_5480_bytes() -> None:
    assert der_object_identifier(SECP256R1_OID) == bytes.fromhex("06082a8648ce3d030107")
    assert der_object_identifier(SECP384R1_OID) == bytes.fromhex("06052b81040022")
    with pytest.raises(ValueError, match="not an object identifier"):
        der_object_identifier("3.1")


def test_octet_string_content_short_and_long_forms() -> None:
    assert der_octet_string_content(b"\x04\x03abc") == b"abc"
    point = b"\x04" + bytes(96)
    assert der_octet_string_content(b"\x04" + der_length(97) + point) == point
    assert der_length(97) == b"\x61"
    assert der_length(200) == b"\x81\xc8"
    long_value = bytes(300)
    assert der_octet_string_content(b"\x04\x82\x01\x2c" + long_value) == long_value


@pytest.mark.parametrize(
    "der",
    [b"", b"\x03\x01a", b"\x04\x05abc", b"\x04\x81\x05abcde", b"\x04\x80", b"\x04\x02abc"],
)
def test_malformed_octet_strings_are_refused(der: bytes) -> None:
    with pytest.raises(HsmError):
        der_octet_string_content(der)


def test_ed25519_params_are_accepted_as_the_oid_or_the_curve_name() -> None:
    profile = KEY_ALGORITHMS["ed25519"]
    assert profile.ec_params == bytes.fromhex("06032b6570")  # id-Ed25519, RFC 8410
    curve_name = b"\x13\x0cedwards25519"
    good = compliant("ed25519")
    # SoftHSM 2.6.1 stores the private half's EC_PARAMS as the curve name.
    softhsm = ReadBack(dict(good.private) | {Attribute.EC_PARAMS: curve_name}, good.public)
    assert policy_findings(softhsm, profile, backup=False, label="root", cka_id=CKA_ID) == []
    other = ReadBack(good.private, dict(good.public) | {Attribute.EC_PARAMS: b"\x13\x0aedwards448"})
    text = "; ".join(policy_findings(other, profile, backup=False, label="root", cka_id=CKA_ID))
    assert (
        "public key EC_PARAMS is 130a65647761726473343438, expected the curve edwards25519" in text
    )


def test_a_p384_key_is_not_a_p521_key() -> None:
    profile = KEY_ALGORITHMS["ec-p521"]
    assert profile.ec_params == bytes.fromhex("06052b81040023")
    good = compliant("ec-p521")
    assert policy_findings(good, profile, backup=False, label="root", cka_id=CKA_ID) == []
    p384 = der_object_identifier(SECP384R1_OID)
    wrong = ReadBack(dict(good.private) | {Attribute.EC_PARAMS: p384}, good.public)
    text = "; ".join(policy_findings(wrong, profile, backup=False, label="root", cka_id=CKA_ID))
    assert "private key EC_PARAMS is 06052b81040022, expected the curve secp521r1" in text
