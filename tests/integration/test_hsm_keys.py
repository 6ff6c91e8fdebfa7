"""Key pairs made in SoftHSM2: attributes read back, signatures verified, failures cleaned up."""

from __future__ import annotations

import re
import subprocess
from typing import Literal

import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from pkcs11 import Attribute

from sealroom.ceremony.ports import TokenObjectSummary
from sealroom.ceremony.script import KeyAlgorithm, KeySpec
from sealroom.errors import HsmError
from sealroom.hsm import inventory, keys, policy
from sealroom.hsm.algorithms import KeyAlgorithmProfile
from sealroom.hsm.keys import Pkcs11SigningKey
from sealroom.hsm.softhsm import SoftHsmToken
from sealroom.hsm.token import Pkcs11Hsm

pytestmark = pytest.mark.softhsm

HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}
TOKEN_KEY_TYPES = {
    "rsa-3072": "RSA",
    "rsa-4096": "RSA",
    "ec-p256": "EC",
    "ec-p384": "EC",
    "ec-p521": "EC",
    "ed25519": "EC_EDWARDS",
}
SIGN_ONLY_POLICY = {
    "TOKEN": True,
    "PRIVATE": True,
    "LOCAL": True,
    "SENSITIVE": True,
    "ALWAYS_SENSITIVE": True,
    "EXTRACTABLE": False,
    "NEVER_EXTRACTABLE": True,
    "SIGN": True,
    "SIGN_RECOVER": False,
    "DECRYPT": False,
    "UNWRAP": False,
    "DERIVE": False,
}


def spec(algorithm: KeyAlgorithm, label: str = "root-2027", backup: bool = False) -> KeySpec:
    return KeySpec(
        id="root-key",
        label=label,
        algorithm=algorithm,
        purpose=("certificate-signing", "crl-signing"),
        backup=backup,
    )


def generate(hsm: Pkcs11Hsm, key_spec: KeySpec) -> Pkcs11SigningKey:
    return hsm.generate_key(key_spec)


def pkcs11_tool_objects(token: SoftHsmToken, user_pin: str) -> str:
    """The token's objects as OpenSC's pkcs11-tool (an independent PKCS#11 client) lists them."""
    result = subprocess.run(
        [
            "pkcs11-tool",
            "--module",
            token.module_path,
            "--token-label",
            token.label,
            "--login",
            "--pin",
            user_pin,
            "--list-objects",
        ],
        env={"SOFTHSM2_CONF": str(token.conf_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout


@pytest.mark.parametrize(
    ("algorithm", "size", "curve"),
    [
        ("rsa-3072", 3072, None),
        ("rsa-4096", 4096, None),
        ("ec-p256", 256, "secp256r1"),
        ("ec-p384", 384, "secp384r1"),
        ("ec-p521", 521, "secp521r1"),
        ("ed25519", 256, "edwards25519"),
    ],
)
def test_generated_key_is_sign_only_and_recorded(
    user_hsm: Pkcs11Hsm,
    softhsm_token: SoftHsmToken,
    user_pin: str,
    algorithm: KeyAlgorithm,
    size: int,
    curve: str | None,
) -> None:
    if algorithm not in user_hsm.supported_algorithms():
        pytest.skip(f"this SoftHSM does not list the mechanisms for {algorithm}")
    key = generate(user_hsm, spec(algorithm))
    record = key.record
    assert (record.key_id, record.label, record.algorithm) == ("root-key", "root-2027", algorithm)
    assert re.fullmatch(r"[0-9a-f]{32}", record.cka_id_hex)
    assert record.size_bits == size and record.curve == curve
    assert dict(record.attributes) == SIGN_ONLY_POLICY
    public = serialization.load_der_public_key(record.spki_der)
    if curve is None:
        assert record.key_type == "RSA" and record.mechanism == "CKM_RSA_PKCS_KEY_PAIR_GEN"
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == size and public.public_numbers().e == 65537
        assert record.public_exponent == 65537
    elif algorithm == "ed25519":
        assert record.key_type == "EdDSA"
        assert record.mechanism == "CKM_EC_EDWARDS_KEY_PAIR_GEN"
        assert isinstance(public, ed25519.Ed25519PublicKey)
        assert record.public_exponent is None
    else:
        assert record.key_type == "EC" and record.mechanism == "CKM_EC_KEY_PAIR_GEN"
        assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == curve
        assert record.public_exponent is None
    assert user_hsm.inventory() == (
        TokenObjectSummary(
            "PRIVATE_KEY", "root-2027", record.cka_id_hex, TOKEN_KEY_TYPES[algorithm]
        ),
        TokenObjectSummary(
            "PUBLIC_KEY", "root-2027", record.cka_id_hex, TOKEN_KEY_TYPES[algorithm]
        ),
    )
    # An independent PKCS#11 client sees the same policy on the token.
    listing = pkcs11_tool_objects(softhsm_token, user_pin)
    private = listing[listing.index("Private Key Object") :]
    assert f"ID:         {record.cka_id_hex}" in private
    assert re.search(r"Usage:\s+sign\n", private)
    assert re.search(r"Access:\s+sensitive, always sensitive, never extractable, local\n", private)
    public_listing = listing[listing.index("Public Key Object") :]
    assert re.search(r"Usage:\s+verify\n", public_listing)


def test_a_key_for_backup_is_extractable_and_nothing_more(user_hsm: Pkcs11Hsm) -> None:
    key = generate(user_hsm, spec("ec-p384", backup=True))
    expected = SIGN_ONLY_POLICY | {"EXTRACTABLE": True, "NEVER_EXTRACTABLE": False}
    assert dict(key.record.attributes) == expected


def test_an_existing_label_is_refused_and_nothing_is_added(user_hsm: Pkcs11Hsm) -> None:
    generate(user_hsm, spec("ec-p256"))
    before = user_hsm.inventory()
    with pytest.raises(HsmError, match="already holds an object labelled 'root-2027'"):
        user_hsm.generate_key(spec("ec-p384"))
    assert user_hsm.inventory() == before


@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512"])
def test_rsa_signatures_are_pkcs1_v15(
    user_hsm: Pkcs11Hsm, hash_name: Literal["sha256", "sha384", "sha512"]
) -> None:
    key = generate(user_hsm, spec("rsa-3072"))
    public = serialization.load_der_public_key(key.record.spki_der)
    assert isinstance(public, rsa.RSAPublicKey)
    signature = key.sign(b"to be signed", hash_name)
    assert len(signature) == 384
    public.verify(signature, b"to be signed", padding.PKCS1v15(), HASHES[hash_name])


@pytest.mark.parametrize(
    ("algorithm", "hash_name"),
    [("ec-p256", "sha256"), ("ec-p384", "sha384"), ("ec-p384", "sha512"), ("ec-p521", "sha512")],
)
def test_ecdsa_signatures_are_der(
    user_hsm: Pkcs11Hsm,
    algorithm: KeyAlgorithm,
    hash_name: Literal["sha256", "sha384", "sha512"],
) -> None:
    if algorithm not in user_hsm.supported_algorithms():
        pytest.skip(f"this SoftHSM does not list the mechanisms for {algorithm}")
    key = generate(user_hsm, spec(algorithm))
    public = serialization.load_der_public_key(key.record.spki_der)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = key.sign(b"to be signed", hash_name)
    assert signature[0] == 0x30  # a DER SEQUENCE of r and s, not raw r||s
    public.verify(signature, b"to be signed", ec.ECDSA(HASHES[hash_name]))


def test_an_unknown_hash_is_refused(user_hsm: Pkcs11Hsm) -> None:
    key = generate(user_hsm, spec("ec-p256"))
    with pytest.raises(HsmError, match="cannot sign with the hash 'md5'"):
        key.sign(b"x", "md5")  # type: ignore[arg-type]


def test_a_key_cannot_sign_after_logout(user_hsm: Pkcs11Hsm, user_pin: str) -> None:
    key = generate(user_hsm, spec("ec-p256"))
    user_hsm.logout()
    with pytest.raises(HsmError, match="can sign only while the HSM session"):
        key.sign(b"x", "sha256")
    user_hsm.login(user_pin)
    with pytest.raises(HsmError, match="can sign only while the HSM session"):
        key.sign(b"x", "sha256")


def test_a_pair_that_breaks_the_policy_is_destroyed(
    user_hsm: Pkcs11Hsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    def strict_policy(*args: object, **kwargs: object) -> None:
        raise HsmError("The key 'root-2027' does not have the attributes the policy requires.")

    monkeypatch.setattr(keys, "verify_policy", strict_policy)
    with pytest.raises(HsmError, match="not kept: the 2 object") as caught:
        user_hsm.generate_key(spec("ec-p256"))
    assert "does not have the attributes" in str(caught.value)
    assert user_hsm.inventory() == ()


def test_a_refused_generation_leaves_no_objects(
    user_hsm: Pkcs11Hsm, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = policy.public_template

    def unknown_curve(profile: KeyAlgorithmProfile) -> dict[Attribute, object]:
        template: dict[Attribute, object] = dict(original(profile))
        template[Attribute.EC_PARAMS] = bytes.fromhex("06032a0304")  # OID 1.2.3.4, no curve
        return template

    monkeypatch.setattr(keys, "public_template", unknown_curve)
    with pytest.raises(HsmError, match="could not generate the key 'root-2027'") as caught:
        user_hsm.generate_key(spec("ec-p256"))
    assert "PKCS#11" in str(caught.value)
    assert user_hsm.inventory() == ()


def test_softhsm_2_6_1_offers_every_key_type(user_hsm: Pkcs11Hsm) -> None:
    # Debian 12's SoftHSM lists ECDSA up to 521 bits and CKM_EC_EDWARDS_KEY_PAIR_GEN + CKM_EDDSA.
    assert user_hsm.supported_algorithms() == (
        "rsa-3072",
        "rsa-4096",
        "ec-p256",
        "ec-p384",
        "ec-p521",
        "ed25519",
    )


def test_ed25519_signs_the_whole_message_in_the_token(user_hsm: Pkcs11Hsm) -> None:
    if "ed25519" not in user_hsm.supported_algorithms():
        pytest.skip("this SoftHSM does not list CKM_EDDSA")
    key = generate(user_hsm, spec("ed25519"))
    public = serialization.load_der_public_key(key.record.spki_der)
    assert isinstance(public, ed25519.Ed25519PublicKey)
    message = b"to be signed" * 1000
    signature = key.sign(message, "sha512")
    assert len(signature) == 64
    public.verify(signature, message)
    assert key.sign(message, "sha256") == signature  # PureEdDSA: deterministic, no host hash


@pytest.mark.parametrize(
    ("algorithm", "missing"),
    [
        ("ed25519", "the token does not list CKM_EC_EDWARDS_KEY_PAIR_GEN"),
        ("ec-p521", "the token's CKM_EC_KEY_PAIR_GEN takes keys of 112 to 384 bits, not 521"),
    ],
)
def test_an_algorithm_the_token_lacks_is_refused_before_any_object_is_made(
    user_hsm: Pkcs11Hsm,
    monkeypatch: pytest.MonkeyPatch,
    algorithm: KeyAlgorithm,
    missing: str,
) -> None:
    # A token like SoftHSM but without EdDSA, and with ECDSA only up to P-384.
    class SmallerSlot:
        def __init__(self, slot: pkcs11.Slot) -> None:
            self._slot = slot

        def get_mechanisms(self) -> set[pkcs11.Mechanism]:
            listed: set[pkcs11.Mechanism] = self._slot.get_mechanisms()
            return listed - {pkcs11.Mechanism.EC_EDWARDS_KEY_PAIR_GEN, pkcs11.Mechanism.EDDSA}

        def get_mechanism_info(self, mechanism: pkcs11.Mechanism) -> object:
            info = self._slot.get_mechanism_info(mechanism)
            if mechanism in (pkcs11.Mechanism.EC_KEY_PAIR_GEN, pkcs11.Mechanism.ECDSA):
                info.max_key_length = 384
            return info

    real_supported, real_reason = inventory.supported_algorithms, inventory.unsupported_reason
    monkeypatch.setattr(
        "sealroom.hsm.token.supported_algorithms", lambda slot: real_supported(SmallerSlot(slot))
    )
    monkeypatch.setattr(
        "sealroom.hsm.token.unsupported_reason",
        lambda slot, profile: real_reason(SmallerSlot(slot), profile),
    )
    assert user_hsm.supported_algorithms() == ("rsa-3072", "rsa-4096", "ec-p256", "ec-p384")
    with pytest.raises(HsmError) as caught:
        user_hsm.generate_key(spec(algorithm))
    assert str(caught.value) == (
        f"The token 'sealroom-test' cannot make the key 'root-2027' as {algorithm}: {missing}. "
        "It offers rsa-3072, rsa-4096, ec-p256, ec-p384; change the key's algorithm in the "
        "script or use another HSM."
    )
    assert user_hsm.inventory() == ()
