"""A share as it is typed: completion from four letters, marks per position, the live checksum."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealroom.backup.entry import (
    EntryStatus,
    checksum_result,
    complete_prefixes,
    entry_status,
    marks_text,
    progress_text,
    verdict_text,
)
from sealroom.backup.errors import ShareRejected
from sealroom.backup.shares import ShareCollector, split_secret
from sealroom.backup.words import WORDS

KEK = bytes(range(32))
PIN_SECRET = bytes(range(16))


def share_words(secret: bytes = KEK, member: int = 0) -> list[str]:
    return list(split_secret(secret, 3, ["ann", "bob", "cid"]).shares[member].words)


def texts(status: EntryStatus) -> str:
    """Everything a screen shows of a status."""
    return "\n".join(
        (
            progress_text(status),
            marks_text(status),
            verdict_text(status),
            status.first_problem or "",
            repr(status),
        )
    )


def another_word(word: str) -> str:
    """A different SLIP-39 word (the next in the list)."""
    return WORDS[(WORDS.index(word) + 1) % len(WORDS)]


# ----------------------------------------------------------------------------- completion


def test_four_letters_and_a_space_give_the_whole_word() -> None:
    for word in ("academic", "acid", "zero", "wildlife", "snake"):
        assert complete_prefixes(f"{word[:4]} ") == f"{word} "
        assert complete_prefixes(f"{word[:4].upper()} ") == f"{word} "


def test_the_word_being_typed_and_unknown_tokens_are_left_alone() -> None:
    assert complete_prefixes("acad") == "acad", "the last token may still be typed"
    assert complete_prefixes("aca ") == "aca ", "three letters stand for no word"
    assert complete_prefixes("acadx ") == "acadx ", "not a start of any word"
    assert complete_prefixes("acade  wild\tsnak") == "academic  wildlife\tsnak"


def test_a_whole_share_typed_by_prefixes_completes_to_its_words() -> None:
    words = share_words()
    typed = " ".join(word[:4] for word in words) + " "
    assert complete_prefixes(typed) == " ".join(words) + " "
    assert complete_prefixes(" ".join(words) + " ") == " ".join(words) + " ", "idempotent"


@settings(max_examples=200)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=33), st.integers(4, 8))
def test_completion_keeps_every_word_and_separator(words: list[str], letters: int) -> None:
    typed = "  ".join(word[:letters] for word in words) + "\n"
    completed = complete_prefixes(typed)
    assert completed == "  ".join(words) + "\n"


# ----------------------------------------------------------------------------- statuses


def test_nothing_typed_is_all_empty_and_no_checksum_yet() -> None:
    status = entry_status("")
    assert (status.words_done, status.total, status.checksum, status.first_problem) == (
        0,
        20,
        None,
        None,
    )
    assert status.per_position == ("empty",) * 20 and not status.known_length
    assert progress_text(status) == "0 of 20 or 33 words typed"
    assert entry_status("", 33).per_position == ("empty",) * 33
    assert progress_text(entry_status("", 33)) == "0 of 33 words typed"


def test_each_position_is_marked_and_the_first_unknown_word_named() -> None:
    words = share_words()
    typed = " ".join([*words[:6], "qqqq", words[7], "zzzzz", words[9][:2]])
    status = entry_status(typed, 33)
    assert status.per_position[:10] == ("ok",) * 6 + ("bad", "ok", "bad", "empty")
    assert status.per_position[10:] == ("empty",) * 23
    assert status.words_done == 7
    assert status.first_problem == "word 7 is not in the SLIP-39 list"
    assert status.checksum is None and not status.complete
    assert verdict_text(status) == (
        "Word 7 is not in the SLIP-39 list \u2014 compare it with your sheet."
    )
    assert marks_text(status).startswith(
        "\u2713\u2713\u2713\u2713\u2713 \u2713\u2717\u2713\u2717\u00b7 "
    )


def test_the_word_being_typed_is_bad_as_soon_as_no_word_starts_so() -> None:
    assert entry_status("acad").per_position[0] == "ok"
    assert entry_status("ac").per_position[0] == "empty"
    assert entry_status("ac ").per_position[0] == "bad", "finished, and no word"
    assert entry_status("acadx").per_position[0] == "bad"
    assert entry_status("acadx").first_problem == "word 1 is not in the SLIP-39 list"


def test_a_whole_share_has_a_correct_checksum_and_is_complete() -> None:
    for secret, count in ((KEK, 33), (PIN_SECRET, 20)):
        words = share_words(secret, member=1)
        for typed in (" ".join(words), " ".join(w[:4] for w in words), " ".join(words).upper()):
            status = entry_status(typed)
            assert status.complete and status.checksum is True
            assert (status.words_done, status.total, status.first_problem) == (count, count, None)
            assert progress_text(status) == f"{count} of {count} words typed"
            assert verdict_text(status).startswith("Checksum correct: this is a whole share")
            assert entry_status(typed, count).complete


def test_one_mistyped_word_is_caught_by_the_checksum_wherever_it_is() -> None:
    words = share_words()
    for position in range(33):
        typo = list(words)
        typo[position] = another_word(words[position])
        status = entry_status(" ".join(typo))
        assert status.per_position == ("ok",) * 33, "every word is still a SLIP-39 word"
        assert status.checksum is False and not status.complete, position
        assert status.first_problem == "checksum wrong: a word is mistyped"
        assert verdict_text(status) == (
            "Checksum wrong: a word is mistyped \u2014 compare each word with your sheet."
        )


def test_two_swapped_words_are_caught_by_the_checksum() -> None:
    words = share_words()
    words[3], words[4] = words[4], words[3]
    assert entry_status(" ".join(words)).checksum is False


def test_twenty_words_of_a_longer_share_say_type_on_unless_the_length_is_known() -> None:
    words = share_words()[:20]
    status = entry_status(" ".join(words))
    assert status.checksum is False and not status.known_length
    assert "if it has 33, type on" in verdict_text(status)
    known = entry_status(" ".join(words), 33)
    assert known.checksum is None and known.first_problem is None
    assert progress_text(known) == "20 of 33 words typed"
    assert progress_text(entry_status(" ".join(share_words()[:21]))) == "21 of 33 words typed"


def test_too_many_words_are_named_by_count() -> None:
    words = share_words()
    status = entry_status(" ".join([*words, words[0]]))
    assert status.first_problem == (
        "34 words are typed but a share has 33: a word is typed twice or one too many"
    )
    assert len(status.per_position) == 34 and not status.complete


def test_a_share_length_other_than_20_or_33_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="20 or 33"):
        entry_status("", 21)


def test_the_checksum_agrees_with_the_engines_collector() -> None:
    """What the screen calls a whole share, the collector accepts; a one-word typo both refuse."""
    share_set = split_secret(KEK, 2, ["ann", "bob"])
    words = list(share_set.shares[0].words)
    assert entry_status(" ".join(w[:4] for w in words)).complete
    with ShareCollector(2, None, share_set.check_value, ["ann", "bob"]) as collector:
        collector.add("ann", " ".join(w[:4] for w in words))
    for position in (1, 12, 30):
        typo = list(words)
        typo[position] = another_word(words[position])
        assert entry_status(" ".join(typo)).checksum is False
        with (
            ShareCollector(2, None, share_set.check_value, ["ann", "bob"]) as collector,
            pytest.raises(ShareRejected, match="checksum does not match"),
        ):
            collector.add("ann", " ".join(typo))
    assert not checksum_result([])


# ------------------------------------------------------------------------------ secrecy


def test_no_word_is_in_any_status_text() -> None:
    """The texts depend on positions only: the same for two shares mistyped at the same place,
    and none of a share's words (beyond the English of the messages) is in them."""
    first, second = share_words(member=0), share_words(member=2)
    third = share_words(member=1)
    other = list(third)
    other[5] = another_word(third[5])
    samples = ["", "xqzw", " ".join(third), " ".join(third[:20]), " ".join(other)]
    samples.append(" ".join([*third, third[0]]))
    # The English of every kind of message, from a third share (the texts hold no word of it).
    vocabulary = set(
        re.findall(r"[a-z]+", " ".join(texts(entry_status(t)) for t in samples).lower())
    )
    for cut in (0, 5, 19, 20, 21, 33):
        for typo in (None, 6):
            shown = []
            for words in (first, second):
                typed = list(words[:cut])
                if typo is not None and typo < cut:
                    typed[typo] = "xqzw"
                status = entry_status(" ".join(typed))
                shown.append(texts(status))
                found = set(re.findall(r"[a-z]+", shown[-1].lower()))
                leaked = (found & set(words)) - vocabulary
                assert not leaked, f"share words {leaked} are in the status text"
                assert "xqzw" not in shown[-1]
            assert shown[0] == shown[1], "a status text depends on which words were typed"
    for position in (0, 16, 32):
        statuses = []
        for words in (first, second):
            typo = list(words)
            typo[position] = another_word(words[position])
            statuses.append(texts(entry_status(" ".join(typo))))
        assert statuses[0] == statuses[1]


@settings(max_examples=300)
@given(st.lists(st.sampled_from([*WORDS[:50], "zzqx", "ab", "acad"]), max_size=40))
def test_status_text_names_positions_never_tokens(tokens: list[str]) -> None:
    status = entry_status(" ".join(tokens))
    shown = texts(status)
    for token in set(tokens) - {"ab"}:
        assert not re.search(rf"\b{token}\b", shown), token
    assert len(status.per_position) == max(status.total, len(tokens))
    assert status.words_done == status.per_position.count("ok")
