"""Destroying a key, zeroising a token and initialising one, each proven by listing every object."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pkcs11
import pytest
from pkcs11 import Attribute, CertificateType, ObjectClass

from sealroom.ceremony.script import KeyAlgorithm, KeySpec
from sealroom.errors import HsmError, PinError, PinLockout
from sealroom.hsm import cryptoki
from sealroom.hsm.lock import PKCS11_LOCK
from sealroom.hsm.softhsm import SoftHsmToken
from sealroom.hsm.token import Pkcs11Hsm

pytestmark = pytest.mark.softhsm

NEW_USER_PIN = "2468-new-user"
NEW_SO_PIN = "1357-new-officer"


def spec(label: str, algorithm: KeyAlgorithm = "ec-p256") -> KeySpec:
    return KeySpec(id=f"{label}-key", label=label, algorithm=algorithm, purpose=("crl-signing",))


@contextmanager
def raw_session(token: SoftHsmToken) -> Iterator[pkcs11.Session]:
    """A python-pkcs11 session beside Sealroom's (it sees private objects while the user is in)."""
    with PKCS11_LOCK:
        session = pkcs11.lib(token.module_path).get_token(token_label=token.label).open(rw=True)
        try:
            yield session
        finally:
            session.close()


def test_destroying_a_key_removes_its_pair_and_objects_and_leaves_the_others(
    user_hsm: Pkcs11Hsm, softhsm_token: SoftHsmToken
) -> None:
    doomed = user_hsm.generate_key(spec("root-2027")).record
    kept = user_hsm.generate_key(spec("ocsp-2027", "ec-p384"))
    cka_id = bytes.fromhex(doomed.cka_id_hex)
    with raw_session(softhsm_token) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "root-2027-certificate",
                Attribute.ID: cka_id,
                Attribute.SUBJECT: b"\x30\x00",
                Attribute.VALUE: b"\x30\x03\x02\x01\x01",
            }
        )
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.DATA,
                Attribute.TOKEN: True,
                Attribute.LABEL: "root-2027",
                Attribute.VALUE: b"note",
            }
        )
    kept_objects = tuple(item for item in user_hsm.inventory() if item.label == "ocsp-2027")
    assert len(user_hsm.inventory()) == 6

    record = user_hsm.destroy_key(spec("root-2027"))

    assert (record.key_id, record.label) == ("root-2027-key", "root-2027")
    assert sorted((item.object_class, item.label) for item in record.destroyed) == [
        ("CERTIFICATE", "root-2027-certificate"),
        ("DATA", "root-2027"),
        ("PRIVATE_KEY", "root-2027"),
        ("PUBLIC_KEY", "root-2027"),
    ]
    assert record.remaining == kept_objects == user_hsm.inventory()
    assert all(
        item.label != "root-2027" and item.cka_id_hex != doomed.cka_id_hex
        for item in user_hsm.inventory()
    )
    kept.sign(b"still here", "sha384")
    with pytest.raises(HsmError, match="no private key labelled 'root-2027'"):
        user_hsm.find_key(spec("root-2027"))


def test_destroying_a_missing_key_is_refused_and_needs_a_login(user_hsm: Pkcs11Hsm) -> None:
    with pytest.raises(HsmError, match="The token holds no private key labelled 'root-2026'"):
        user_hsm.destroy_key(spec("root-2026"))
    user_hsm.logout()
    with pytest.raises(HsmError, match="Cannot destroy the key 'root-2026': nobody is logged in"):
        user_hsm.destroy_key(spec("root-2026"))


def test_zeroising_leaves_no_object_and_the_old_pin_no_longer_works(
    user_hsm: Pkcs11Hsm, user_pin: str, so_pin: str
) -> None:
    made = [
        user_hsm.generate_key(spec(label, algorithm)).record
        for label, algorithm in (("root-2027", "ec-p384"), ("ca-2027", "ed25519"))
    ]
    serial = user_hsm.token_info().serial

    record = user_hsm.zeroise(so_pin)

    assert {(item.label, item.cka_id_hex) for item in record.before} == {
        (key.label, key.cka_id_hex) for key in made
    }
    assert len(record.before) == 4
    assert record.after == ()
    assert record.token_after.label == "sealroom-test" and record.token_after.serial == serial
    assert {"TOKEN_INITIALIZED", "USER_PIN_INITIALIZED"} <= set(record.token_after.flags)
    assert not user_hsm.logged_in
    assert user_hsm.inventory() == ()
    with pytest.raises(PinError, match=r"refused the PIN \(attempt 1 of 3\)"):
        user_hsm.login(user_pin)
    assert len(user_hsm.random_bytes(8)) == 8  # the handle is still usable


def test_zeroising_can_relabel_and_the_token_is_found_by_its_new_label(
    softhsm_token: SoftHsmToken, user_pin: str, so_pin: str
) -> None:
    with Pkcs11Hsm.open(softhsm_token.module_path, softhsm_token.label) as hsm:
        hsm.login(user_pin)
        hsm.generate_key(spec("root-2027"))
        record = hsm.zeroise(so_pin, new_label="destroyed-2027")
        assert record.token_after.label == "destroyed-2027" == hsm.token_info().label
    with Pkcs11Hsm.open(softhsm_token.module_path, "destroyed-2027") as again:
        assert again.inventory() == ()


def test_a_wrong_so_pin_is_counted_and_the_token_keeps_its_keys(
    user_hsm: Pkcs11Hsm, user_pin: str, so_pin: str
) -> None:
    user_hsm.generate_key(spec("root-2027"))
    messages = []
    for attempt in (1, 2):
        with pytest.raises(PinError) as caught:
            user_hsm.zeroise("0000-wrong-officer")
        assert str(caught.value).startswith(
            f"The HSM refused the security officer PIN (attempt {attempt} of 3)."
        )
        messages.append(str(caught.value))
        assert not user_hsm.logged_in  # zeroising ends every session before C_InitToken
        user_hsm.login(user_pin)
        assert len(user_hsm.inventory()) == 2
    assert user_hsm.so_pin_attempts_left == 1 and user_hsm.pin_attempts_left == 3
    with pytest.raises(PinLockout, match=r"security officer PIN \(attempt 3 of 3\)"):
        user_hsm.zeroise("0000-wrong-officer")
    user_hsm.login(user_pin)
    with pytest.raises(PinLockout, match="security officer PIN was refused 3 times"):
        user_hsm.zeroise(so_pin)  # not even the right one is sent now
    assert len(user_hsm.inventory()) == 2
    assert all("0000-wrong-officer" not in m and so_pin not in m for m in messages)


def test_zeroising_needs_a_login_and_no_other_handle(
    hsm: Pkcs11Hsm, softhsm_token: SoftHsmToken, user_pin: str, so_pin: str
) -> None:
    with pytest.raises(HsmError, match="Cannot zeroise the token 'sealroom-test': nobody"):
        hsm.zeroise(so_pin)
    hsm.login(user_pin)
    with Pkcs11Hsm.open(softhsm_token.module_path, softhsm_token.label) as other:
        with pytest.raises(HsmError, match=r"while another handle on .* is open in Sealroom"):
            hsm.zeroise(so_pin)
        assert other.token_info().label == "sealroom-test"
    assert hsm.logged_in


def test_a_token_that_still_lists_objects_is_not_called_zeroised(
    user_hsm: Pkcs11Hsm, so_pin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_hsm.generate_key(spec("root-2027"))
    # A token whose C_InitToken reports success but erases nothing.
    monkeypatch.setattr(cryptoki, "init_token", lambda *args: None)
    with pytest.raises(HsmError) as caught:
        user_hsm.zeroise(so_pin)
    assert str(caught.value) == (
        "The token 'sealroom-test' was zeroised but a user login still lists 2 object(s) on it. "
        "It is NOT proven empty: stop and note this as a deviation."
    )


def test_initialising_a_fresh_token(softhsm_token: SoftHsmToken) -> None:
    module = softhsm_token.module_path
    with Pkcs11Hsm.open_uninitialised(module) as blank:
        with pytest.raises(HsmError, match=r"not initialised: run the HSM initialisation step"):
            blank.login(NEW_USER_PIN)
        info = blank.initialise("exr-root-r2", NEW_SO_PIN, NEW_USER_PIN)
        assert info.label == "exr-root-r2"
        assert {"TOKEN_INITIALIZED", "USER_PIN_INITIALIZED", "LOGIN_REQUIRED"} <= set(info.flags)
        assert blank.inventory() == ()
    with Pkcs11Hsm.open(module, "exr-root-r2") as hsm:
        hsm.login(NEW_USER_PIN)
        key = hsm.generate_key(spec("root-2027"))
        key.sign(b"first signature", "sha256")


def test_an_initialised_token_with_objects_is_not_initialised_again_unless_asked(
    user_hsm: Pkcs11Hsm, user_pin: str, so_pin: str
) -> None:
    user_hsm.generate_key(spec("root-2027"))
    with pytest.raises(HsmError) as holds:
        user_hsm.initialise("exr-root-r2", so_pin, NEW_USER_PIN)
    assert str(holds.value).startswith(
        "The token 'sealroom-test' is already initialised and holds 2 object(s)."
    )
    user_hsm.logout()
    with pytest.raises(HsmError, match="cannot see its private objects without the user login"):
        user_hsm.initialise("exr-root-r2", so_pin, NEW_USER_PIN)
    assert user_hsm.token_info().label == "sealroom-test"

    info = user_hsm.initialise("exr-root-r2", so_pin, NEW_USER_PIN, reinitialise=True)

    assert info.label == "exr-root-r2"
    with pytest.raises(PinError):
        user_hsm.login(user_pin)
    user_hsm.login(NEW_USER_PIN)
    assert user_hsm.inventory() == ()


def test_an_empty_initialised_token_may_be_initialised_when_the_user_shows_it(
    user_hsm: Pkcs11Hsm, so_pin: str
) -> None:
    info = user_hsm.initialise("exr-root-r2", so_pin, NEW_USER_PIN)
    assert info.label == "exr-root-r2"


def test_no_uninitialised_token_in_a_named_slot_is_refused(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(HsmError, match="No uninitialised token is present in slot 4242"):
        Pkcs11Hsm.open_uninitialised(softhsm_token.module_path, slot_id=4242)
