"""Token selection by label or RFC 7512 pkcs11: URI (pure parsing, no token needed)."""

from __future__ import annotations

import pytest

from sealroom.errors import HsmError
from sealroom.hsm.uri import KeySelector, TokenSelector, key_selector, token_selector


def test_a_plain_reference_is_a_label() -> None:
    assert token_selector("exr-root-r1") == TokenSelector(label="exr-root-r1")


def test_uri_token_attributes_are_percent_decoded() -> None:
    selector = token_selector(
        "pkcs11:token=Example%20Root;serial=7ecdf5c9efee9136;"
        "manufacturer=SoftHSM%20project;model=SoftHSM%20v2"
    )
    assert selector == TokenSelector(
        label="Example Root",
        serial="7ecdf5c9efee9136",
        manufacturer="SoftHSM project",
        model="SoftHSM v2",
    )
    assert selector.matches("Example Root", "7ecdf5c9efee9136", "SoftHSM project", "SoftHSM v2")
    assert not selector.matches("Example Root", "other", "SoftHSM project", "SoftHSM v2")


def test_uri_decodes_utf8_and_reserved_characters() -> None:
    assert token_selector("pkcs11:token=Wurzel%C3%BC%3B1").label == "Wurzelü;1"


def test_unset_attributes_match_anything() -> None:
    selector = token_selector("pkcs11:serial=abc")
    assert selector.matches("any label", "abc", "any maker", "any model")
    assert selector.describe() == "with serial 'abc'"
    assert token_selector("pkcs11:token=r1;model=m").describe() == "labelled 'r1' with model 'm'"


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("pkcs11:", "names no token attribute"),
        ("pkcs11:object=root;token=r1", "'object' does not select a token"),
        ("pkcs11:slot-id=1", "'slot-id' does not select a token"),
        ("pkcs11:token=a;token=b", "more than once"),
        ("pkcs11:token=two words", "must be percent-encoded"),
        ("pkcs11:token=bad%ff", "does not decode as UTF-8"),
        ("pkcs11:token", "not of the form name=value"),
        ("", "No token was named"),
    ],
)
def test_malformed_references_are_refused_with_a_reason(uri: str, words: str) -> None:
    with pytest.raises(HsmError, match=words):
        token_selector(uri)


def test_a_pin_in_the_uri_query_is_refused_and_never_repeated() -> None:
    with pytest.raises(HsmError) as caught:
        token_selector("pkcs11:token=r1?pin-value=4711-secret")
    assert "4711-secret" not in str(caught.value)
    assert "never takes a PIN from a URI" in str(caught.value)


def test_a_key_uri_decodes_label_and_binary_id() -> None:
    selector = key_selector(
        "pkcs11:token=Example%20Root;serial=7ecd;object=root%2Er1;id=%00%FF%10;type=private"
    )
    assert selector == KeySelector(
        label="root.r1",
        cka_id=b"\x00\xff\x10",
        token=TokenSelector(label="Example Root", serial="7ecd"),
    )
    assert selector.describe() == "labelled 'root.r1' with CKA_ID 00ff10"
    assert key_selector("pkcs11:id=%01") == KeySelector(label=None, cka_id=b"\x01", token=None)


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("pkcs11:token=r1", "names neither the key's label"),
        ("pkcs11:object=r1;type=cert", "type other than 'private'"),
        ("pkcs11:object=r1;library-manufacturer=x", "'library-manufacturer' does not name a key"),
        ("pkcs11:id=%01;id=%02", "names the attribute 'id' more than once"),
        ("pkcs11:object=two words", "must be percent-encoded"),
        ("pkcs11:object=%ff", "does not decode as UTF-8"),
        ("object=r1", "must start with 'pkcs11:'"),
    ],
)
def test_malformed_key_uris_are_refused_with_a_reason(uri: str, words: str) -> None:
    with pytest.raises(HsmError, match=words):
        key_selector(uri)
