"""The device inventory for the report: token identity, mechanisms with flags, objects by name."""

from __future__ import annotations

import pytest

from sealroom.ceremony.ports import MechanismInfo, TokenObjectSummary
from sealroom.ceremony.script import KeySpec
from sealroom.errors import HsmError
from sealroom.hsm.token import Pkcs11Hsm

pytestmark = pytest.mark.softhsm


def test_named_mechanisms_are_described_with_limits_and_flags(user_hsm: Pkcs11Hsm) -> None:
    inventory = user_hsm.device_inventory(
        ["CKM_EC_KEY_PAIR_GEN", "CKM_ECDSA", "CKM_SHA256_RSA_PKCS", "CKM_ECDSA"]
    )
    assert inventory.token == user_hsm.token_info()
    assert inventory.logged_in is True
    assert inventory.mechanisms == (
        MechanismInfo(
            name="CKM_EC_KEY_PAIR_GEN",
            min_key_bits=112,
            max_key_bits=521,
            flags=("GENERATE_KEY_PAIR", "EC_F_P", "EC_NAMEDCURVE", "EC_UNCOMPRESS"),
        ),
        MechanismInfo(
            name="CKM_ECDSA",
            min_key_bits=112,
            max_key_bits=521,
            flags=("SIGN", "VERIFY", "EC_F_P", "EC_NAMEDCURVE", "EC_UNCOMPRESS"),
        ),
        MechanismInfo(
            name="CKM_SHA256_RSA_PKCS",
            min_key_bits=512,
            max_key_bits=16384,
            flags=("SIGN", "VERIFY"),
        ),
    )


def test_by_default_every_key_algorithms_mechanisms_are_described(user_hsm: Pkcs11Hsm) -> None:
    names = [mechanism.name for mechanism in user_hsm.device_inventory().mechanisms]
    assert names == [
        "CKM_RSA_PKCS_KEY_PAIR_GEN",
        "CKM_SHA256_RSA_PKCS",
        "CKM_SHA384_RSA_PKCS",
        "CKM_SHA512_RSA_PKCS",
        "CKM_EC_KEY_PAIR_GEN",
        "CKM_ECDSA",
        "CKM_EC_EDWARDS_KEY_PAIR_GEN",
        "CKM_EDDSA",
    ]


def test_a_mechanism_the_token_lacks_or_sealroom_does_not_know_is_refused(
    user_hsm: Pkcs11Hsm,
) -> None:
    with pytest.raises(HsmError, match="does not list the mechanism CKM_SHA3_256_RSA_PKCS"):
        user_hsm.device_inventory(["CKM_SHA3_256_RSA_PKCS"])
    with pytest.raises(HsmError, match="'ECDSA' is not a PKCS#11 mechanism Sealroom knows"):
        user_hsm.device_inventory(["ECDSA"])


def test_objects_are_listed_by_class_label_id_and_type_never_by_value(
    user_hsm: Pkcs11Hsm,
) -> None:
    keys = [
        user_hsm.generate_key(
            KeySpec(id=label, label=label, algorithm=algorithm, purpose=("certificate-signing",))
        ).record
        for label, algorithm in (("a-rsa", "rsa-3072"), ("b-ec", "ec-p384"), ("c-ed", "ed25519"))
    ]
    inventory = user_hsm.device_inventory([])
    assert inventory.mechanisms == ()
    assert inventory.objects == tuple(
        TokenObjectSummary(object_class, record.label, record.cka_id_hex, key_type)
        for record, key_type in zip(keys, ("RSA", "EC", "EC_EDWARDS"), strict=True)
        for object_class in ("PRIVATE_KEY", "PUBLIC_KEY")
    )
    text = repr(inventory)
    for record in keys:
        # No public key material either: not the SPKI, nor any 8-byte run of it.
        spki_hex = record.spki_der.hex()
        assert spki_hex not in text
        assert all(
            spki_hex[i : i + 16] not in text
            for i in range(len(spki_hex) // 2, len(spki_hex) - 16, 8)
        )


def test_without_a_login_only_public_objects_are_listed(user_hsm: Pkcs11Hsm) -> None:
    user_hsm.generate_key(
        KeySpec(id="k", label="root-2027", algorithm="ec-p256", purpose=("certificate-signing",))
    )
    user_hsm.logout()
    inventory = user_hsm.device_inventory()
    assert inventory.logged_in is False
    assert [item.object_class for item in inventory.objects] == ["PUBLIC_KEY"]
