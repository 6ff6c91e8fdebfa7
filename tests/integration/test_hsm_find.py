"""Keys from an earlier ceremony found again by label or RFC 7512 URI, and checked again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag

from sealroom.ceremony.script import KeyAlgorithm, KeySpec
from sealroom.errors import HsmError
from sealroom.hsm.algorithms import SECP256R1_OID
from sealroom.hsm.encoding import der_object_identifier
from sealroom.hsm.lock import PKCS11_LOCK
from sealroom.hsm.softhsm import SoftHsmToken
from sealroom.hsm.token import Pkcs11Hsm

pytestmark = pytest.mark.softhsm


def spec(
    algorithm: KeyAlgorithm = "ec-p256", label: str = "root-2027", backup: bool = False
) -> KeySpec:
    return KeySpec(
        id="root-key",
        label=label,
        algorithm=algorithm,
        purpose=("certificate-signing",),
        backup=backup,
    )


def percent(raw: bytes) -> str:
    return "".join(f"%{byte:02x}" for byte in raw)


@contextmanager
def raw_session(token: SoftHsmToken) -> Iterator[pkcs11.Session]:
    """A python-pkcs11 session beside Sealroom's (it sees private objects while the user is in)."""
    with PKCS11_LOCK:
        session = pkcs11.lib(token.module_path).get_token(token_label=token.label).open(rw=True)
        try:
            yield session
        finally:
            session.close()


def raw_p256_pair(
    session: pkcs11.Session, label: str, cka_id: bytes, **private: Any
) -> tuple[pkcs11.Object, pkcs11.Object]:
    """A P-256 pair made outside Sealroom; ``private`` overrides the private key's template."""
    template = {
        Attribute.SIGN: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.DECRYPT: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
        Attribute.SIGN_RECOVER: False,
    } | {Attribute[name]: value for name, value in private.items()}
    public, private_key = session.generate_keypair(
        KeyType.EC,
        None,
        id=cka_id,
        label=label,
        store=True,
        capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
        mechanism=Mechanism.EC_KEY_PAIR_GEN,
        public_template={
            Attribute.EC_PARAMS: der_object_identifier(SECP256R1_OID),
            Attribute.ENCRYPT: False,
            Attribute.WRAP: False,
            Attribute.DERIVE: False,
            Attribute.VERIFY_RECOVER: False,
        },
        private_template=template,
    )
    return public, private_key


@pytest.mark.parametrize("algorithm", ["ec-p384", "ed25519"])
def test_a_key_from_an_earlier_session_is_found_by_label_and_signs(
    user_hsm: Pkcs11Hsm, user_pin: str, algorithm: KeyAlgorithm
) -> None:
    made = user_hsm.generate_key(spec(algorithm)).record
    user_hsm.logout()
    user_hsm.login(user_pin)
    key = user_hsm.find_key(spec(algorithm))
    assert key.record == made
    public = serialization.load_der_public_key(key.record.spki_der)
    signature = key.sign(b"tbs", "sha384")
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, b"tbs", ec.ECDSA(hashes.SHA384()))
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(signature, b"tbs")
    user_hsm.logout()
    with pytest.raises(HsmError, match="can sign only while the HSM session"):
        key.sign(b"tbs", "sha384")


def test_a_key_is_found_by_uri_with_token_object_id_and_type(
    user_hsm: Pkcs11Hsm, user_pin: str
) -> None:
    made = user_hsm.generate_key(spec("ec-p256", label="root.r1-2027")).record
    serial = user_hsm.token_info().serial
    cka_id = bytes.fromhex(made.cka_id_hex)
    uri = (
        f"pkcs11:token=sealroom-test;serial={serial};object=root%2Er1-2027;"
        f"id={percent(cka_id)};type=private"
    )
    with_spec = user_hsm.find_key_by_uri(uri, spec("ec-p256", label="root.r1-2027"))
    assert with_spec.record == made
    by_id_only = user_hsm.find_key_by_uri(f"pkcs11:id={percent(cka_id)}")
    assert by_id_only.record.algorithm == "ec-p256"
    assert by_id_only.record.key_id == "root.r1-2027"  # no spec: the label names it
    assert by_id_only.record.spki_der == made.spki_der
    assert by_id_only.record.attributes == made.attributes


def test_a_uri_for_another_token_is_refused(user_hsm: Pkcs11Hsm) -> None:
    user_hsm.generate_key(spec())
    with pytest.raises(HsmError, match="names the token labelled 'other-token'"):
        user_hsm.find_key_by_uri("pkcs11:token=other-token;object=root-2027")


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("pkcs11:type=private", "names neither the key's label"),
        ("pkcs11:object=root-2027;type=public", "type other than 'private'"),
        ("pkcs11:object=root-2027;slot-id=1", "'slot-id' does not name a key"),
        ("pkcs11:object=a;object=b", "more than once"),
        ("pkcs11:object=root-2027?pin-value=4711-test-user", "never takes a PIN from a URI"),
        ("root-2027", "must start with 'pkcs11:'"),
    ],
)
def test_malformed_key_uris_are_refused(user_hsm: Pkcs11Hsm, uri: str, words: str) -> None:
    with pytest.raises(HsmError, match=words) as caught:
        user_hsm.find_key_by_uri(uri)
    assert "4711-test-user" not in str(caught.value)


def test_a_missing_key_is_refused(user_hsm: Pkcs11Hsm) -> None:
    with pytest.raises(HsmError) as caught:
        user_hsm.find_key(spec(label="root-2026"))
    assert str(caught.value).startswith("The token holds no private key labelled 'root-2026'.")
    with pytest.raises(HsmError, match="no private key with CKA_ID 00ff"):
        user_hsm.find_key_by_uri("pkcs11:id=%00%ff")


def test_two_keys_with_one_label_are_refused(
    user_hsm: Pkcs11Hsm, softhsm_token: SoftHsmToken
) -> None:
    with raw_session(softhsm_token) as session:
        raw_p256_pair(session, "root-2027", b"\x01")
        raw_p256_pair(session, "root-2027", b"\x02")
    with pytest.raises(HsmError) as caught:
        user_hsm.find_key(spec())
    assert str(caught.value).startswith(
        "The token holds 2 private keys labelled 'root-2027'; Sealroom signs only with a key it "
        "can name unambiguously."
    )
    # Named by its CKA_ID as well, one of them is found (made outside Sealroom, but by the same
    # policy, so it passes the same checks).
    key = user_hsm.find_key_by_uri("pkcs11:object=root-2027;id=%02", spec())
    assert key.record.cka_id_hex == "02"


def test_a_private_key_without_its_public_key_is_refused(
    user_hsm: Pkcs11Hsm, softhsm_token: SoftHsmToken
) -> None:
    with raw_session(softhsm_token) as session:
        public, _private = raw_p256_pair(session, "root-2027", b"\x07")
        public.destroy()
    with pytest.raises(HsmError, match="has 0 public keys with its CKA_ID 07"):
        user_hsm.find_key(spec())


@pytest.mark.parametrize(
    ("override", "finding"),
    [
        ({"DERIVE": True}, "private key DERIVE is True, expected False"),
        ({"DECRYPT": True}, "private key DECRYPT is True, expected False"),
        ({"EXTRACTABLE": True}, "private key EXTRACTABLE is True, expected False"),
        ({"SENSITIVE": False}, "private key SENSITIVE is False, expected True"),
    ],
)
def test_a_pair_that_breaks_the_policy_is_refused_and_kept_as_it_is(
    user_hsm: Pkcs11Hsm,
    softhsm_token: SoftHsmToken,
    override: dict[str, bool],
    finding: str,
) -> None:
    with raw_session(softhsm_token) as session:
        raw_p256_pair(session, "root-2027", b"\x09", **override)
    before = user_hsm.inventory()
    with pytest.raises(HsmError) as caught:
        user_hsm.find_key(spec())
    message = str(caught.value)
    assert message.startswith(
        "The key 'root-2027' does not have the attributes Sealroom's policy requires:"
    )
    assert finding in message
    assert user_hsm.inventory() == before  # finding never destroys anything


def test_a_key_of_another_algorithm_or_backup_setting_is_refused(user_hsm: Pkcs11Hsm) -> None:
    user_hsm.generate_key(spec("ec-p256"))
    with pytest.raises(HsmError, match="private key EC_PARAMS is 06082a8648ce3d030107"):
        user_hsm.find_key(spec("ec-p384"))
    with pytest.raises(HsmError, match="private key EXTRACTABLE is False, expected True"):
        user_hsm.find_key(spec("ec-p256", backup=True))


def test_finding_a_key_needs_a_login(user_hsm: Pkcs11Hsm) -> None:
    user_hsm.generate_key(spec())
    user_hsm.logout()
    with pytest.raises(HsmError, match="nobody is logged in"):
        user_hsm.find_key(spec())
    with pytest.raises(HsmError, match="nobody is logged in"):
        user_hsm.find_key_by_uri("pkcs11:object=root-2027")


def test_a_script_key_with_a_uri_is_found_by_it_and_must_match_its_label(
    user_hsm: Pkcs11Hsm,
) -> None:
    first = user_hsm.generate_key(spec("ec-p256", label="root-a")).record
    second = user_hsm.generate_key(spec("ec-p256", label="root-b")).record
    by_uri = spec("ec-p256", label="root-b").model_copy(
        update={"uri": f"pkcs11:id={percent(bytes.fromhex(second.cka_id_hex))}"}
    )
    assert user_hsm.find_key(by_uri).record.spki_der == second.spki_der
    wrong = spec("ec-p256", label="root-b").model_copy(
        update={"uri": f"pkcs11:id={percent(bytes.fromhex(first.cka_id_hex))}"}
    )
    with pytest.raises(HsmError, match="private key LABEL is 'root-a', expected 'root-b'"):
        user_hsm.find_key(wrong)
