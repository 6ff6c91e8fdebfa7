"""The share-leak finder used by the secrecy tests finds a share's words and only whole runs."""

from __future__ import annotations

from tests.leaks import share_run_in

SHARE = ("academic", "acid", "acne", "evidence", "bundle", "ceiling", "check")


def test_three_words_of_a_share_in_a_row_are_found_across_line_breaks_and_case() -> None:
    text = 'journal: {"note": "Academic\\nacid  ACNE"}'
    assert share_run_in(SHARE, text) == "academic acid acne"


def test_an_english_pair_or_words_inside_other_words_are_not_a_leak() -> None:
    # "evidence bundle" is report prose; "acidic acne" and "academically" only contain words
    text = "The evidence bundle ... academically acidic acne ceilings check"
    assert share_run_in(SHARE, text) is None


def test_a_short_text_can_be_held_to_pairs() -> None:
    assert share_run_in(SHARE, "typed: ceiling check", length=2) == "ceiling check"
    assert share_run_in(SHARE, "typed: ceiling", length=2) is None
