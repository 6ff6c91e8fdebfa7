"""Fingerprints: the PGP word list's anchors, published examples, grouping and the JSON form."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealroom.ceremony.fingerprint import (
    EVEN_WORDS,
    ODD_WORDS,
    Fingerprint,
    fingerprint_from_json,
    pgp_words,
    sha256_fingerprint,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_word_lists_have_256_distinct_words_each_and_512_in_all() -> None:
    assert len(EVEN_WORDS) == 256
    assert len(ODD_WORDS) == 256
    assert len({w.lower() for w in EVEN_WORDS + ODD_WORDS}) == 512


@pytest.mark.parametrize(
    ("value", "even", "odd"),
    [
        (0x00, "aardvark", "adroitness"),
        (0x01, "absurd", "adviser"),
        (0x09, "Algol", "applicant"),
        (0x41, "cranky", "decadence"),
        (0x7F, "lockup", "integrate"),
        (0x80, "merit", "intention"),
        (0x9E, "quiver", "onlooker"),
        (0xC5, "solo", "resistor"),
        (0xE4, "tonic", "tradition"),
        (0xFE, "woodlark", "yesteryear"),
        (0xFF, "Zulu", "Yucatan"),
    ],
)
def test_word_list_anchors(value: int, even: str, odd: str) -> None:
    assert EVEN_WORDS[value] == even
    assert ODD_WORDS[value] == odd


def test_even_words_are_two_syllable_list_and_odd_three_syllable_list_by_position() -> None:
    assert pgp_words(bytes([0x00, 0x00, 0xFF, 0xFF])) == "aardvark adroitness zulu yucatan"


@pytest.mark.parametrize(
    ("hex_digits", "words"),
    [
        # Published examples (the pgp-words README and Encode::Wordlist::PGP's synopsis).
        (
            "d1c225e426c633dd94d1a7e8c3f408aa9b342488",
            "stairway repellent bombast tradition bookshelf responsive chisel tambourine "
            "pluto scavenger repay typewriter snowcap virginia aimless pedigree "
            "puppy confidence bluebird maritime",
        ),
        (
            "EA5B81C564988C73EE90DEE9BAF1E07233CDE511",
            "trojan exodus minnow resistor flytrap narrative offload hurricane "
            "tycoon millionaire tactics ultimate shadow vacancy tapeworm holiness "
            "chisel sandalwood topmost babylon",
        ),
        (
            "41559711308F2A21B9D5072D621958AFCB50B5F9",
            "cranky equipment preshrunk babylon chairlift midsummer brickyard camelot "
            "sentence specialist ahead clergyman flagpole bottomless endorse pharmacy "
            "spheroid embezzle scorecard waterloo",
        ),
    ],
)
def test_published_examples(hex_digits: str, words: str) -> None:
    assert pgp_words(bytes.fromhex(hex_digits)) == words


def test_no_bytes_give_no_words() -> None:
    assert pgp_words(b"") == ""


def test_sha256_fingerprint_of_nothing() -> None:
    fpr = sha256_fingerprint(b"")
    assert fpr.hex == EMPTY_SHA256
    assert fpr.words.split(" ")[:4] == ["tissue", "phonetic", "snowslide", "december"]
    assert len(fpr.words.split(" ")) == 32
    assert fpr.grouped() == (
        "E3B0 C442 98FC 1C14 9AFB F4C8 996F B924 27AE 41E4 649B 934C A495 991B 7852 B855"
    )
    assert (
        fpr.short_words()
        == "tissue phonetic snowslide december … island enrollment select equipment"
    )


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=512))
def test_fingerprint_properties(data: bytes) -> None:
    fpr = sha256_fingerprint(data)
    assert fpr.hex == hashlib.sha256(data).hexdigest()
    assert fpr.words == fpr.words.lower()
    assert len(fpr.grouped().split(" ")) == 16
    assert fpr.grouped().replace(" ", "").lower() == fpr.hex
    assert fingerprint_from_json(fpr.to_json()) == fpr
    assert fpr.to_json() == {"hex": fpr.hex, "words": fpr.words}


@pytest.mark.parametrize(
    "hex_value",
    [EMPTY_SHA256.upper(), EMPTY_SHA256[:-2], EMPTY_SHA256 + "00", "g" * 64, ""],
)
def test_fingerprint_refuses_bad_hex(hex_value: str) -> None:
    with pytest.raises(ValueError, match="64 lower-case hex"):
        Fingerprint(hex=hex_value, words=sha256_fingerprint(b"").words)


def test_fingerprint_refuses_words_that_do_not_spell_the_hex() -> None:
    other = sha256_fingerprint(b"other")
    with pytest.raises(ValueError, match="do not spell"):
        Fingerprint(hex=EMPTY_SHA256, words=other.words)


@pytest.mark.parametrize(
    "obj",
    [
        None,
        "e3b0",
        [EMPTY_SHA256],
        {"hex": EMPTY_SHA256},
        {"hex": EMPTY_SHA256, "words": sha256_fingerprint(b"").words, "extra": 1},
        {"hex": 1, "words": "x"},
        {"hex": EMPTY_SHA256, "words": "aardvark"},
    ],
)
def test_fingerprint_from_json_refuses_malformed_objects(obj: object) -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        fingerprint_from_json(obj)


def test_word_lists_match_the_digests_published_in_the_docs() -> None:
    # docs/fingerprints.md: SHA-256 of the words in byte order, canonical capitals, "\n" after each.
    def digest(words: tuple[str, ...]) -> str:
        return hashlib.sha256("".join(f"{word}\n" for word in words).encode()).hexdigest()

    assert digest(EVEN_WORDS) == "37a65f88512467edd12a1ab3eeb5f4328230e86711a8efde6333361ce10f4fcf"
    assert digest(ODD_WORDS) == "c2f23c2233d4d7291107e8f796c374d0cb1fb30c1391bcb4f6480243de8ebf5a"


def test_hello_world_example_of_the_docs() -> None:
    fpr = sha256_fingerprint(b"hello world")
    assert fpr.grouped() == (
        "B94D 27B9 934D 3E08 A52E 52D7 DA7D ABFA C484 EFE3 7A53 80EE 9088 F7AC E2EF CDE9"
    )
    assert (
        fpr.short_words()
        == "sentence disruptive brackish proximate … tiger unravel spindle ultimate"
    )
