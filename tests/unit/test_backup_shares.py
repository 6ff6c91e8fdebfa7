"""m-of-n activation: SLIP-39 share sets split, checked one share at a time, and combined."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shamir_mnemonic import rs1024, shamir
from shamir_mnemonic.constants import CUSTOMIZATION_STRING_EXTENDABLE

import sealroom.backup.shares as shares_module
from sealroom.backup import (
    AcceptedShare,
    BackupError,
    ShareCollector,
    ShareRejected,
    ShareSet,
    SharesIncomplete,
    check_value_of,
    new_pin_secret,
    pin_from_secret,
    split_secret,
)
from sealroom.backup.words import WORDS, word_index
from sealroom.errors import SealroomError

ANN, BOB, CAROL, DAN, EVE = "Ann Lee", "Bob Okafor", "Carol Nguyen", "Dan Ito", "Eve Marsh"
THREE = (ANN, BOB, CAROL)
FIVE = (ANN, BOB, CAROL, DAN, EVE)

BACKUP_DIR = Path(shares_module.__file__).parent
CODE_VOCABULARY = frozenset(
    re.findall(r"[a-z]+", "".join(p.read_text().lower() for p in sorted(BACKUP_DIR.glob("*.py"))))
) & frozenset(WORDS)
"""SLIP-39 words that the backup code's own sentences use ("check", "again", "member"...).

Such a word in a message proves nothing; the leak checks look for every other word of the
shares involved. The exact-message assertions cover the rest.
"""


def typed(words: Sequence[str]) -> str:
    return " ".join(words)


def all_words(*sets: ShareSet) -> set[str]:
    return {w for s in sets for share in s.shares for w in share.words}


def assert_no_words(text: str, words: set[str]) -> None:
    tokens = set(re.findall(r"[a-z]+", text.lower()))
    leaked = (tokens & words) - CODE_VOCABULARY
    assert leaked == set(), f"share words in {text!r}"


def rejection(
    collector: ShareCollector, custodian: str, entry: str, *sets: ShareSet
) -> ShareRejected:
    """Add a share that must be refused; return the error after checking it leaks no word."""
    before = collector.accepted
    with pytest.raises(ShareRejected) as caught:
        collector.add(custodian, entry)
    error = caught.value
    assert isinstance(error, SealroomError)
    assert error.__cause__ is None and error.__context__ is None  # no library message rides along
    assert_no_words(str(error), all_words(*sets))
    message_tokens = set(re.findall(r"[a-z0-9]+", str(error).lower()))
    for token in entry.split():
        if word_index(token) is None and len(token) > 3:  # a typed non-word is not echoed either
            assert token.lower() not in message_tokens
    assert collector.accepted == before
    return error


@pytest.fixture
def two_of_three() -> tuple[bytes, ShareSet]:
    secret = bytes(new_pin_secret(os.urandom))
    return secret, split_secret(secret, 2, THREE)


def collector_for(share_set: ShareSet) -> ShareCollector:
    return ShareCollector(
        share_set.threshold, share_set.identifier, share_set.check_value, share_set.custodians
    )


def another_set(share_set: ShareSet, secret_bytes: int = 16, threshold: int = 2) -> ShareSet:
    """A set for other custodians' eyes, with another identifier."""
    while True:
        other = split_secret(os.urandom(secret_bytes), threshold, share_set.custodians)
        if other.identifier != share_set.identifier:
            return other


# Activation ---------------------------------------------------------------------------


def test_k_shares_activate_and_give_back_the_secret_and_its_pin(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    secret, share_set = two_of_three
    collector = collector_for(share_set)
    first = collector.add(ANN, typed(share_set.shares[0].words))
    assert (collector.complete, collector.needed) == (False, 1)
    second = collector.add(CAROL, typed(share_set.shares[2].words))
    assert first == AcceptedShare(ANN, 1, 3, share_set.identifier)
    assert second == AcceptedShare(CAROL, 3, 3, share_set.identifier)
    assert second.label == "share 3 of 3"
    assert [(a.custodian, a.member_index) for a in collector.accepted] == [(ANN, 1), (CAROL, 3)]
    assert (collector.complete, collector.needed) == (True, 0)

    combined = collector.combine()
    assert isinstance(combined, bytearray)
    assert bytes(combined) == secret
    assert pin_from_secret(combined) == pin_from_secret(secret)
    assert collector.wiped and not collector.complete


def test_k_minus_one_shares_do_not_activate() -> None:
    share_set = split_secret(os.urandom(32), 3, FIVE)
    collector = collector_for(share_set)
    collector.add(BOB, typed(share_set.shares[1].words))
    collector.add(EVE, typed(share_set.shares[4].words))
    assert (collector.complete, collector.needed) == (False, 1)
    with pytest.raises(SharesIncomplete) as caught:
        collector.combine()
    assert str(caught.value) == (
        "3 of 5 shares are needed and 2 entered (Bob Okafor, Eve Marsh): 1 more custodian "
        "must enter a share before the secret can be combined."
    )
    assert_no_words(str(caught.value), all_words(share_set))
    collector.add(DAN, typed(share_set.shares[3].words))
    assert collector.complete


def test_an_empty_collector_says_how_many_are_missing() -> None:
    collector = ShareCollector(2, None, None, THREE)
    with pytest.raises(SharesIncomplete) as caught:
        collector.combine()
    assert str(caught.value) == (
        "2 of 3 shares are needed and 0 entered (nobody yet): 2 more custodians must enter a "
        "share before the secret can be combined."
    )


@pytest.mark.parametrize(
    ("secret_bytes", "threshold", "custodians", "words"),
    [
        (16, 2, THREE, 20),
        (32, 2, THREE, 33),
        (16, 3, FIVE, 20),
        (32, 3, FIVE, 33),
        (16, 1, (ANN,), 20),
        (32, 1, (ANN,), 33),
    ],
)
def test_sets_of_2_of_3_3_of_5_and_1_of_1(
    secret_bytes: int, threshold: int, custodians: tuple[str, ...], words: int
) -> None:
    secret = os.urandom(secret_bytes)
    share_set = split_secret(secret, threshold, custodians)
    assert (share_set.threshold, share_set.member_count, share_set.word_count) == (
        threshold,
        len(custodians),
        words,
    )
    assert share_set.custodians == custodians
    assert [s.member_index for s in share_set.shares] == list(range(1, len(custodians) + 1))
    assert all(len(s.words) == words for s in share_set.shares)
    assert 0 <= share_set.identifier < 2**15
    assert share_set.check_value == check_value_of(secret)
    # the last k shares, entered from the last custodian backwards
    collector = collector_for(share_set)
    for share in reversed(share_set.shares[-threshold:]):
        collector.add(share.custodian, typed(share.words))
    assert bytes(collector.combine()) == secret


@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=7),
    secret=st.binary(min_size=16, max_size=16) | st.binary(min_size=32, max_size=32),
)
def test_any_k_subset_in_any_order_recovers_the_secret(
    data: st.DataObject, n: int, secret: bytes
) -> None:
    k = 1 if n == 1 else data.draw(st.integers(min_value=2, max_value=n), label="k")
    custodians = [f"Custodian {i}" for i in range(1, n + 1)]
    share_set = split_secret(secret, k, custodians)
    order = data.draw(st.permutations(range(n)), label="order")[:k]
    collector = ShareCollector(k, share_set.identifier, share_set.check_value, custodians)
    for i in order:
        assert not collector.complete
        collector.add(custodians[i], typed(share_set.shares[i].words))
    assert bytes(collector.combine()) == secret


def test_the_shares_are_standard_slip39_for_the_reference_implementation() -> None:
    secret = os.urandom(32)
    share_set = split_secret(secret, 3, FIVE)
    chosen = [share_set.shares[i].words for i in (4, 0, 2)]
    assert shamir.combine_mnemonics([typed(w) for w in chosen]) == secret


# Typing tolerance -----------------------------------------------------------------------


def test_four_letter_prefixes_case_and_line_breaks_are_accepted(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    secret, share_set = two_of_three
    collector = collector_for(share_set)
    ann = share_set.shares[0].words
    entry = "\n".join(
        "  ".join(w[:4].upper() for w in ann[i : i + 5]) for i in range(0, len(ann), 5)
    )
    collector.add(ANN, f"  {entry}\n")
    bob = share_set.shares[1].words
    collector.add(BOB, " ".join(w[:5].capitalize() if i % 2 else w for i, w in enumerate(bob)))
    assert bytes(collector.combine()) == secret


def test_every_slip39_word_is_found_by_its_first_four_letters() -> None:
    assert len(WORDS) == 1024
    for i, word in enumerate(WORDS):
        assert word_index(word[:4]) == i
        assert word_index(word.upper()) == i
    assert word_index("aca") is None  # three letters are not enough
    assert word_index(WORDS[0] + "x") is None  # longer than the word
    assert word_index("zzzz") is None


# Rejections, each naming the custodian's entry and never a word ---------------------


def test_a_mistyped_word_fails_the_checksum(two_of_three: tuple[bytes, ShareSet]) -> None:
    _, share_set = two_of_three
    words = list(share_set.shares[1].words)
    words[6] = WORDS[(WORDS.index(words[6]) + 1) % 1024]  # another real word
    error = rejection(collector_for(share_set), BOB, typed(words), share_set)
    assert str(error) == (
        "Share from Bob Okafor: the checksum does not match: a word is mistyped (words 1 to 20 "
        "look like SLIP-39 words, but at least one is wrong); check each against the sheet."
    )


def test_a_non_word_is_named_by_its_position(two_of_three: tuple[bytes, ShareSet]) -> None:
    _, share_set = two_of_three
    collector = collector_for(share_set)
    words = list(share_set.shares[1].words)
    words[6] = "qxzv"
    error = rejection(collector, BOB, typed(words), share_set)
    assert str(error) == (
        "Share from Bob Okafor: word 7 is not a SLIP-39 word; check it against the sheet."
    )
    words[2] = words[2][:3]  # too short to stand for a word
    words[19] = words[19] + "s"
    error = rejection(collector, BOB, typed(words), share_set)
    assert str(error) == (
        "Share from Bob Okafor: words 3, 7 and 20 are not SLIP-39 words; "
        "check them against the sheet."
    )


def test_a_share_from_another_set_is_refused_by_its_identifier(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    _, share_set = two_of_three
    other = another_set(share_set)
    error = rejection(collector_for(share_set), BOB, typed(other.shares[1].words), share_set, other)
    assert str(error) == (
        f"Share from Bob Okafor: this share belongs to another share set (set identifier "
        f"{other.identifier}, expected {share_set.identifier})."
    )


def test_a_repeated_share_is_refused(two_of_three: tuple[bytes, ShareSet]) -> None:
    _, share_set = two_of_three
    collector = collector_for(share_set)
    collector.add(CAROL, typed(share_set.shares[2].words))
    error = rejection(collector, BOB, typed(share_set.shares[2].words), share_set)
    assert str(error) == (
        "Share from Bob Okafor: this share repeats Carol Nguyen's share (share 3 of 3)."
    )


def test_a_share_typed_by_the_wrong_custodian_is_refused(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    _, share_set = two_of_three
    error = rejection(collector_for(share_set), BOB, typed(share_set.shares[2].words), share_set)
    assert str(error) == (
        "Share from Bob Okafor: this is share 3 of 3, printed for Carol Nguyen; "
        "Bob Okafor holds share 2 of 3."
    )


def test_a_share_of_the_wrong_length_is_refused(two_of_three: tuple[bytes, ShareSet]) -> None:
    _, share_set = two_of_three
    long_set = another_set(share_set, secret_bytes=32)
    collector = collector_for(share_set)
    collector.add(ANN, typed(share_set.shares[0].words))
    error = rejection(collector, BOB, typed(long_set.shares[1].words), share_set, long_set)
    assert str(error) == "Share from Bob Okafor: the share has 33 words; this set's shares have 20."
    dropped = share_set.shares[1].words[:12] + share_set.shares[1].words[13:]
    error = rejection(collector, BOB, typed(dropped), share_set)
    assert str(error) == "Share from Bob Okafor: the share has 19 words; this set's shares have 20."


def test_the_word_count_is_checked_from_the_first_share_when_the_journal_gives_it(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    _, share_set = two_of_three
    long_set = another_set(share_set, secret_bytes=32)
    collector = ShareCollector(
        2, share_set.identifier, share_set.check_value, THREE, words=share_set.word_count
    )
    error = rejection(collector, ANN, typed(long_set.shares[0].words), share_set, long_set)
    assert str(error) == "Share from Ann Lee: the share has 33 words; this set's shares have 20."


def test_an_impossible_word_count_is_refused_before_any_share_is_in() -> None:
    share_set = split_secret(os.urandom(16), 2, THREE)
    collector = ShareCollector(2, None, None, THREE)
    error = rejection(collector, ANN, typed(share_set.shares[0].words * 2), share_set)
    assert str(error) == (
        "Share from Ann Lee: the share has 40 words; a share has 20 words (128-bit secret) "
        "or 33 (256-bit secret): a word is missing or repeated."
    )


def test_an_unknown_custodian_an_empty_entry_and_a_second_entry_are_refused(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    _, share_set = two_of_three
    collector = collector_for(share_set)
    error = rejection(collector, "Mallory", typed(share_set.shares[0].words), share_set)
    assert str(error) == (
        "Share from Mallory: not one of the custodians of this set "
        "(Ann Lee, Bob Okafor, Carol Nguyen)."
    )
    error = rejection(collector, ANN, " \n ", share_set)
    assert str(error) == "Share from Ann Lee: no words were entered."
    collector.add(ANN, typed(share_set.shares[0].words))
    error = rejection(collector, ANN, typed(share_set.shares[0].words), share_set)
    assert str(error) == "Share from Ann Lee: this custodian has already entered a share."
    collector.add(BOB, typed(share_set.shares[1].words))
    error = rejection(collector, CAROL, typed(share_set.shares[2].words), share_set)
    assert str(error) == "Share from Carol Nguyen: 2 shares are already in; no more are needed."


def test_a_share_whose_header_asks_another_threshold_is_refused() -> None:
    three_of_five = split_secret(os.urandom(16), 3, FIVE)
    collector = ShareCollector(2, None, None, THREE)
    error = rejection(collector, ANN, typed(three_of_five.shares[0].words), three_of_five)
    assert str(error) == (
        "Share from Ann Lee: the share says 3 shares are needed, but this set needs 2: "
        "it belongs to another share set."
    )


def test_a_share_numbered_beyond_the_custodians_is_refused() -> None:
    share_set = split_secret(os.urandom(16), 2, FIVE)
    collector = ShareCollector(2, share_set.identifier, None, THREE)
    error = rejection(collector, ANN, typed(share_set.shares[4].words), share_set)
    assert str(error) == (
        "Share from Ann Lee: this is share 5, but this set has 3: it belongs to another share set."
    )


def test_shares_that_slip_39_made_differently_are_refused() -> None:
    collector = ShareCollector(2, None, None, THREE)
    multi_group = shamir.generate_mnemonics(1, [(1, 1), (2, 3)], os.urandom(16))
    error = rejection(collector, ANN, multi_group[1][0])
    assert str(error) == (
        "Share from Ann Lee: this share belongs to a SLIP-39 backup with several groups, "
        "not to a Sealroom share set."
    )
    assert_no_words(str(error), {w for g in multi_group for m in g for w in m.split()})
    not_extendable = shamir.generate_mnemonics(1, [(2, 3)], os.urandom(16), extendable=False)
    error = rejection(collector, ANN, not_extendable[0][0])
    assert str(error) == (
        "Share from Ann Lee: the share's header (extendable flag, iteration exponent) is not "
        "the one Sealroom writes: it belongs to another share set."
    )
    assert_no_words(str(error), set(not_extendable[0][0].split()))


def test_a_share_with_a_good_checksum_but_bad_padding_is_refused(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    _, share_set = two_of_three
    indices = [WORDS.index(w) for w in share_set.shares[0].words[:-3]]
    indices[4] |= 0b11 << 8  # the 2 padding bits of a 128-bit value must be zero
    indices += rs1024.create_checksum(indices, CUSTOMIZATION_STRING_EXTENDABLE)
    words = [WORDS[i] for i in indices]
    error = rejection(collector_for(share_set), ANN, typed(words), share_set)
    assert_no_words(str(error), set(words))
    assert str(error) == (
        "Share from Ann Lee: the words do not decode as a share (their padding bits are "
        "wrong): a word is mistyped; check each against the sheet."
    )


def test_a_whole_set_mix_up_is_caught_by_the_check_value(
    two_of_three: tuple[bytes, ShareSet],
) -> None:
    _, share_set = two_of_three
    other = another_set(share_set)
    collector = ShareCollector(2, None, share_set.check_value, THREE)
    collector.add(ANN, typed(other.shares[0].words))
    collector.add(BOB, typed(other.shares[1].words))
    with pytest.raises(ShareRejected) as caught:
        collector.combine()
    assert str(caught.value) == (
        f"The combined secret's check value is {other.check_value}, not "
        f"{share_set.check_value} as recorded for this share set: these shares belong to "
        "another share set. Nothing was activated; start again with the right sheets."
    )
    assert_no_words(str(caught.value), all_words(share_set, other))
    assert collector.wiped


@pytest.fixture
def fixed_identifier(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Make every split draw the identifier 0x1234 (two sets can then share it)."""
    real = shares_module.mixed_random

    def mixed(length: int, hsm_random: object) -> bytes:
        return b"\x12\x34" if length == 2 else real(length, None)

    monkeypatch.setattr(shares_module, "mixed_random", mixed)
    yield 0x1234


def test_two_sets_with_one_identifier_do_not_combine(fixed_identifier: int) -> None:
    first, second = (split_secret(os.urandom(16), 2, THREE) for _ in range(2))
    assert first.identifier == second.identifier == fixed_identifier
    collector = ShareCollector(2, fixed_identifier, None, THREE)
    collector.add(ANN, typed(first.shares[0].words))
    error = rejection(collector, BOB, typed(first.shares[0].words), first)
    assert "repeats Ann Lee's share (share 1 of 3)" in str(error)
    collector.add(CAROL, typed(second.shares[2].words))
    with pytest.raises(ShareRejected) as caught:
        collector.combine()
    assert str(caught.value) == (
        "The shares entered do not combine into a secret (the SLIP-39 digest does not match): "
        "they come from different share sets that share an identifier. Nothing was activated; "
        "start again with the right sheets."
    )
    assert caught.value.__context__ is None
    assert collector.wiped


def test_same_number_other_words_is_refused(fixed_identifier: int) -> None:
    first, second = (split_secret(os.urandom(16), 2, THREE) for _ in range(2))
    collector = ShareCollector(2, fixed_identifier, None, THREE)
    collector.add(ANN, typed(first.shares[0].words))
    error = rejection(collector, BOB, typed(second.shares[0].words), first, second)
    assert str(error) == (
        "Share from Bob Okafor: this share has the same number (share 1 of 3) as Ann Lee's "
        "but other words: one of the two belongs to another share set."
    )


# Secrets stay out of repr and str --------------------------------------------------------


def test_repr_and_str_never_show_words(two_of_three: tuple[bytes, ShareSet]) -> None:
    _, share_set = two_of_three
    words = all_words(share_set)
    collector = collector_for(share_set)
    texts = [repr(share_set), str(share_set), repr(share_set.shares), repr(collector)]
    texts += [repr(s) for s in share_set.shares] + [str(s) for s in share_set.shares]
    texts.append(repr(collector.add(ANN, typed(share_set.shares[0].words))))
    texts += [
        repr(collector),
        str(collector),
        repr(collector.accepted),
        str(share_set.public_facts()),
    ]
    for text in texts:
        assert_no_words(text, words)
    assert repr(share_set.shares[0]) == (
        "CustodianShare(custodian='Ann Lee', share 1 of 3, words=<20 words, hidden>)"
    )
    assert repr(share_set) == (
        f"ShareSet(identifier={share_set.identifier}, 2 of 3, check_value="
        f"'{share_set.check_value}', custodians=('Ann Lee', 'Bob Okafor', 'Carol Nguyen'), "
        "words=<3 shares of 20 words, hidden>)"
    )


def test_public_facts_are_what_the_journal_may_hold(two_of_three: tuple[bytes, ShareSet]) -> None:
    _, share_set = two_of_three
    assert share_set.public_facts() == {
        "identifier": share_set.identifier,
        "threshold": 2,
        "member_count": 3,
        "word_count": 20,
        "check_value": share_set.check_value,
        "custodians": [
            {"custodian": ANN, "member_index": 1},
            {"custodian": BOB, "member_index": 2},
            {"custodian": CAROL, "member_index": 3},
        ],
    }


# Wiping ---------------------------------------------------------------------------------


def test_wipe_zeroes_held_shares_and_closes_the_entry(two_of_three: tuple[bytes, ShareSet]) -> None:
    _, share_set = two_of_three
    with collector_for(share_set) as collector:
        collector.add(ANN, typed(share_set.shares[0].words))
        held = [h.value for h in collector._held]
        assert any(any(v) for v in held)
    assert collector.wiped and not collector.complete
    assert all(v == bytearray(len(v)) for v in held)
    assert collector.accepted[0].custodian == ANN  # the record of who entered stays
    error = rejection(collector, BOB, typed(share_set.shares[1].words), share_set)
    assert str(error) == (
        "Share from Bob Okafor: this entry has been closed and its shares wiped; "
        "start the activation again."
    )
    with pytest.raises(SharesIncomplete, match="have been wiped; start the activation again"):
        collector.combine()


def test_combine_wipes_the_shares_it_used(two_of_three: tuple[bytes, ShareSet]) -> None:
    secret, share_set = two_of_three
    collector = collector_for(share_set)
    collector.add(ANN, typed(share_set.shares[0].words))
    collector.add(BOB, typed(share_set.shares[1].words))
    held = [h.value for h in collector._held]
    assert bytes(collector.combine()) == secret
    assert all(v == bytearray(len(v)) for v in held)
    with pytest.raises(SharesIncomplete):
        collector.combine()


# Splitting: parameters and randomness ---------------------------------------------------


@pytest.mark.parametrize(
    ("secret_bytes", "threshold", "custodians", "message"),
    [
        (
            20,
            2,
            THREE,
            "A share set protects a 16-byte (128-bit) or 32-byte (256-bit) secret; "
            "this one has 20 bytes.",
        ),
        (16, 2, (), "A share set needs at least one custodian; none was given."),
        (
            16,
            0,
            THREE,
            "The threshold must be between 1 and the number of custodians (3); it is 0.",
        ),
        (
            16,
            4,
            THREE,
            "The threshold must be between 1 and the number of custodians (3); it is 4.",
        ),
        (
            16,
            1,
            THREE,
            "A threshold of 1 with 3 custodians would give each of them the whole secret; "
            "SLIP-39 allows a threshold of 1 only with a single custodian (1 of 1).",
        ),
        (
            16,
            2,
            (ANN, BOB, ANN),
            "Ann Lee is named twice among the custodians; each custodian holds one share.",
        ),
        (16, 2, (ANN, " "), "Custodian 2 of the share set has no name."),
        (
            16,
            2,
            tuple(f"C{i}" for i in range(17)),
            "SLIP-39 allows at most 16 shares in a set; 17 custodians were given.",
        ),
    ],
)
def test_split_refuses_impossible_sets(
    secret_bytes: int, threshold: int, custodians: tuple[str, ...], message: str
) -> None:
    with pytest.raises(BackupError) as caught:
        split_secret(os.urandom(secret_bytes), threshold, custodians)
    assert str(caught.value) == message


def test_the_collector_refuses_bad_journal_values() -> None:
    with pytest.raises(BackupError, match=r"^A SLIP-39 set identifier is between 0 and 32767"):
        ShareCollector(2, 40000, None, THREE)
    with pytest.raises(BackupError, match=r"^A share set's check value is 6 hex digits"):
        ShareCollector(2, None, "12345g", THREE)
    with pytest.raises(BackupError, match=r"^A share has 20 or 33 words"):
        ShareCollector(2, None, None, THREE, words=21)
    with pytest.raises(BackupError, match=r"^A threshold of 1 with 3 custodians"):
        ShareCollector(1, None, None, THREE)


def test_split_mixes_the_hsm_randomness_with_the_host_randomness() -> None:
    asked: list[int] = []

    def constant_hsm(length: int) -> bytes:
        asked.append(length)
        return bytes(range(length))

    secret = os.urandom(32)
    first = split_secret(secret, 3, FIVE, extra_randomness=constant_hsm)
    second = split_secret(secret, 3, FIVE, extra_randomness=constant_hsm)
    assert asked and set(asked) == {32}
    assert first.shares[0].words != second.shares[0].words  # the host half still varies
    assert first.check_value == second.check_value == check_value_of(secret)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            b"\x01" * 31,
            "The HSM's random number generator returned 31 bytes where 32 were asked for; "
            "nothing was generated. Check the token and try again.",
        ),
        (
            bytes(32),
            "The HSM's random number generator returned 32 identical bytes; it is not working, "
            "and nothing was generated. Stop and check the token.",
        ),
    ],
)
def test_broken_hsm_randomness_is_refused(answer: bytes, message: str) -> None:
    with pytest.raises(BackupError) as caught:
        split_secret(os.urandom(16), 2, THREE, extra_randomness=lambda n: answer)
    assert str(caught.value) == message
    with pytest.raises(BackupError) as caught:
        new_pin_secret(lambda n: answer)
    assert str(caught.value) == message


def test_a_set_that_does_not_combine_back_is_never_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shamir, "combine_mnemonics", lambda mnemonics, passphrase: bytes(16))
    with pytest.raises(BackupError) as caught:
        split_secret(os.urandom(16), 2, THREE)
    assert str(caught.value) == (
        "The share set failed its own check after splitting (shares 1 to 2 combine wrongly); "
        "nothing may be printed from it. This is a software fault: stop and report it."
    )


def test_a_failing_hsm_source_mid_split_leaves_the_library_as_it_was() -> None:
    original = shamir.RANDOM_BYTES
    answers = iter([os.urandom(32), bytes(32)])  # the identifier, then a dead RNG

    with pytest.raises(BackupError, match="32 identical bytes"):
        split_secret(os.urandom(16), 3, FIVE, extra_randomness=lambda n: next(answers))
    assert shamir.RANDOM_BYTES is original


# Check value and PIN ----------------------------------------------------------------------


def test_the_check_value_is_the_documented_digest() -> None:
    secret = bytes(range(16))
    digest = hashlib.sha256(b"sealroom/backup/check-value/v1\x00" + secret).hexdigest()
    assert check_value_of(secret) == digest[:6]
    assert check_value_of(bytearray(secret)) == digest[:6]
    assert re.fullmatch(r"[0-9a-f]{6}", check_value_of(os.urandom(32)))


def test_the_pin_is_base32_of_the_secret() -> None:
    secret = bytes(range(16))
    assert pin_from_secret(secret) == "AAAQEAYEAUDAOCAJBIFQYDIOB4"
    assert pin_from_secret(bytearray(secret)) == "AAAQEAYEAUDAOCAJBIFQYDIOB4"
    pin = pin_from_secret(os.urandom(16))
    assert len(pin) == 26 and re.fullmatch(r"[A-Z2-7]{26}", pin)
    assert base64.b32decode(pin + "======") is not None
    with pytest.raises(BackupError) as caught:
        pin_from_secret(os.urandom(32))
    assert str(caught.value) == (
        "A PIN secret is 16 bytes; this one has 32. It is not the secret of a PIN share set."
    )


def test_a_new_pin_secret_mixes_both_sources() -> None:
    asked: list[int] = []

    def constant_hsm(length: int) -> bytes:
        asked.append(length)
        return bytes(range(1, length + 1))

    first, second = new_pin_secret(constant_hsm), new_pin_secret(constant_hsm)
    assert isinstance(first, bytearray) and len(first) == 16
    assert first != second
    assert asked == [32, 32]
