"""Pkcs11Hsm against a real SoftHSM2 token: lookup, identity, PIN counting, sessions, randomness."""

from __future__ import annotations

import threading
from urllib.parse import quote

import pkcs11
import pytest

from sealroom.ceremony.script import KeySpec
from sealroom.errors import HsmError, PinError, PinLockout
from sealroom.hsm import cryptoki
from sealroom.hsm.softhsm import SoftHsmToken, create_rehearsal_token
from sealroom.hsm.token import Pkcs11Hsm

pytestmark = pytest.mark.softhsm

WRONG_PIN = "9999-wrong"


def test_token_found_by_label_reports_its_identity(hsm: Pkcs11Hsm) -> None:
    info = hsm.token_info()
    assert info.library == "/usr/lib/softhsm/libsofthsm2.so"
    assert info.library_description == "Implementation of PKCS11"
    assert info.library_version == "2.6"
    assert info.label == "sealroom-test"
    assert info.manufacturer == "SoftHSM project"
    assert info.model == "SoftHSM v2"
    assert len(info.serial) == 16
    assert info.slot_description.startswith("SoftHSM slot ID")
    assert info.hardware_version == info.firmware_version == "2.6"
    assert {"TOKEN_INITIALIZED", "USER_PIN_INITIALIZED", "LOGIN_REQUIRED", "RNG"} <= set(info.flags)


def test_token_found_by_uri_with_serial_and_percent_encoding(
    softhsm_token: SoftHsmToken, user_pin: str, so_pin: str
) -> None:
    spaced = create_rehearsal_token(
        softhsm_token.conf_path.parent, "Root R1 (2027)", user_pin, so_pin
    )
    with Pkcs11Hsm.open(softhsm_token.module_path, spaced.label) as by_label:
        serial = by_label.token_info().serial
    uri = f"pkcs11:token={quote(spaced.label, safe='')};serial={serial};model=SoftHSM%20v2"
    with Pkcs11Hsm.open(softhsm_token.module_path, uri) as by_uri:
        info = by_uri.token_info()
    assert (info.label, info.serial) == ("Root R1 (2027)", serial)


def test_unknown_label_names_it_and_lists_the_labels_present(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(HsmError) as caught:
        Pkcs11Hsm.open(softhsm_token.module_path, "exr-root-r9")
    message = str(caught.value)
    assert "No token labelled 'exr-root-r9' is present" in message
    assert "Tokens present: 'sealroom-test'." in message
    assert not isinstance(caught.value, pkcs11.PKCS11Error)


def test_a_uri_matching_no_token_is_refused(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(HsmError, match="No token labelled 'sealroom-test' with serial '0000'"):
        Pkcs11Hsm.open(softhsm_token.module_path, "pkcs11:token=sealroom-test;serial=0000")


def test_an_ambiguous_selection_is_refused(
    softhsm_token: SoftHsmToken, user_pin: str, so_pin: str
) -> None:
    create_rehearsal_token(softhsm_token.conf_path.parent, "another", user_pin, so_pin)
    with pytest.raises(HsmError, match="2 tokens with model 'SoftHSM v2' are present"):
        Pkcs11Hsm.open(softhsm_token.module_path, "pkcs11:model=SoftHSM%20v2")


def test_a_module_that_does_not_load_is_an_hsm_error(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(HsmError, match=r"Cannot load the PKCS#11 module /nonexistent/lib\.so"):
        Pkcs11Hsm.open("/nonexistent/lib.so", softhsm_token.label)


def test_wrong_pins_are_counted_then_locked_out(hsm: Pkcs11Hsm, user_pin: str) -> None:
    messages = []
    for attempt in (1, 2):
        with pytest.raises(PinError) as caught:
            hsm.login(WRONG_PIN)
        assert not isinstance(caught.value, PinLockout)
        assert str(caught.value).startswith(f"The HSM refused the PIN (attempt {attempt} of 3)")
        messages.append(str(caught.value))
        assert hsm.pin_attempts_left == 3 - attempt
    with pytest.raises(PinLockout) as locked:
        hsm.login(WRONG_PIN)
    assert str(locked.value).startswith("The HSM refused the PIN (attempt 3 of 3)")
    messages.append(str(locked.value))
    # The right PIN is not even sent now: Sealroom stops trying.
    with pytest.raises(PinLockout, match="sends no more PINs"):
        hsm.login(user_pin)
    assert not hsm.logged_in
    assert hsm.pin_attempts_left == 0
    assert all(WRONG_PIN not in m and user_pin not in m for m in messages)


def test_a_single_allowed_attempt_locks_out_at_once(softhsm_token: SoftHsmToken) -> None:
    module, label = softhsm_token.module_path, softhsm_token.label
    with (
        Pkcs11Hsm.open(module, label, max_pin_attempts=1) as hsm,
        pytest.raises(PinLockout, match=r"attempt 1 of 1"),
    ):
        hsm.login(WRONG_PIN)


def test_a_good_pin_resets_the_count(hsm: Pkcs11Hsm, user_pin: str) -> None:
    with pytest.raises(PinError):
        hsm.login(WRONG_PIN)
    hsm.login(user_pin)
    assert hsm.logged_in and hsm.pin_attempts_left == 3
    hsm.logout()
    with pytest.raises(PinError, match=r"attempt 1 of 3"):
        hsm.login(WRONG_PIN)


def test_one_logged_in_session_only(user_hsm: Pkcs11Hsm, user_pin: str) -> None:
    with pytest.raises(HsmError, match="already logged in"):
        user_hsm.login(user_pin)
    user_hsm.logout()
    user_hsm.logout()  # logging out twice is harmless
    user_hsm.login(user_pin)
    assert user_hsm.logged_in


def test_a_second_handle_on_a_logged_in_token_cannot_log_in(
    user_hsm: Pkcs11Hsm, softhsm_token: SoftHsmToken, user_pin: str
) -> None:
    with (
        Pkcs11Hsm.open(softhsm_token.module_path, softhsm_token.label) as second,
        pytest.raises(HsmError, match="already has a user logged in"),
    ):
        second.login(user_pin)


def test_key_generation_needs_a_login(hsm: Pkcs11Hsm) -> None:
    spec = KeySpec(id="k", label="k", algorithm="ec-p256", purpose=("certificate-signing",))
    with pytest.raises(HsmError, match="nobody is logged in"):
        hsm.generate_key(spec)


def test_random_bytes_come_from_the_token(hsm: Pkcs11Hsm) -> None:
    first, second = hsm.random_bytes(32), hsm.random_bytes(32)
    assert len(first) == len(second) == 32 and first != second
    assert len(hsm.random_bytes(1)) == 1
    for count in (0, 4097):
        with pytest.raises(HsmError, match="1 to 4096 random bytes"):
            hsm.random_bytes(count)


def test_a_closed_token_refuses_work(softhsm_token: SoftHsmToken, user_pin: str) -> None:
    with Pkcs11Hsm.open(softhsm_token.module_path, softhsm_token.label) as hsm:
        hsm.login(user_pin)
    assert hsm.closed and not hsm.logged_in
    for call in (hsm.token_info, lambda: hsm.random_bytes(4), lambda: hsm.login(user_pin)):
        with pytest.raises(HsmError, match="was closed"):
            call()
    hsm.close()  # closing twice is harmless


def test_an_error_inside_the_block_still_closes_the_token(softhsm_token: SoftHsmToken) -> None:
    with (
        pytest.raises(RuntimeError, match="boom"),
        Pkcs11Hsm.open(softhsm_token.module_path, softhsm_token.label) as hsm,
    ):
        raise RuntimeError("boom")
    assert hsm.closed


def test_signing_from_several_threads_is_serialised(user_hsm: Pkcs11Hsm) -> None:
    key = user_hsm.generate_key(
        KeySpec(id="k", label="threads", algorithm="ec-p256", purpose=("certificate-signing",))
    )
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for index in range(50):
                key.sign(f"message {index}".encode(), "sha256")
                user_hsm.random_bytes(16)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []


def open_session_count(module_path: str) -> int:
    """Sessions this process has open on the module (SoftHSM's handles are small integers)."""
    return sum(cryptoki.session_is_open(module_path, handle) for handle in range(1, 257))


def test_a_refused_pin_leaves_no_session_open(hsm: Pkcs11Hsm, user_pin: str) -> None:
    module = hsm.token_info().library
    assert open_session_count(module) == 1  # the public session
    for _ in range(2):
        with pytest.raises(PinError):
            hsm.login(WRONG_PIN)
        assert open_session_count(module) == 1
    assert hsm.pin_attempts_left == 1 and not hsm.logged_in
    hsm.login(user_pin)
    assert open_session_count(module) == 2 and hsm.pin_attempts_left == 3
    hsm.logout()
    assert open_session_count(module) == 1
    # Logged out for real: a fresh session sees no private object and a new login works.
    hsm.login(user_pin)
    assert hsm.logged_in


def test_a_refused_login_on_a_second_handle_closes_its_session(
    user_hsm: Pkcs11Hsm, softhsm_token: SoftHsmToken, user_pin: str
) -> None:
    module = softhsm_token.module_path
    with Pkcs11Hsm.open(module, softhsm_token.label) as second:
        before = open_session_count(module)
        with pytest.raises(HsmError, match="already has a user logged in"):
            second.login(user_pin)
        assert open_session_count(module) == before
        assert second.pin_attempts_left == 3  # not a PIN refusal: nothing counted
