"""Paper transfer without a renderer: the layout's arithmetic, the base32 listing and its checks."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealroom.errors import TransferError
from sealroom.transfer.frames import MAX_FRAMES, encode_frames
from sealroom.transfer.paper import (
    LISTING_LINE_BYTES,
    PaperLayout,
    base32_listing,
    frame_label,
    listing_check,
    parse_base32_listing,
    render_transfer_pdf,
)
from sealroom.transfer.qr import qr_matrix

ROOT = Path(__file__).resolve().parents[2]
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


# ------------------------------------------------------------------------------------ layout


def test_the_default_layout_is_version_22_at_ecc_q_half_millimetre_modules_three_a_row() -> None:
    layout = PaperLayout()
    assert (layout.module_mm, layout.ecc, layout.columns, layout.max_version) == (0.5, "Q", 3, 22)
    assert layout.columns * layout.symbol_side <= layout.content_width
    assert layout.fragment_size == 459


def test_the_largest_frame_the_layout_can_make_fits_its_version() -> None:
    """The longest header: a 7-digit length and frame 9999 of 9999 (the most frames SR1 allows)."""
    layout = PaperLayout()
    payload = bytes(range(256)) * (layout.fragment_size * MAX_FRAMES // 256) + b"\x00" * (
        layout.fragment_size * MAX_FRAMES % 256
    )
    frames = encode_frames(payload, "BLB", layout.fragment_size)
    assert len(frames) == MAX_FRAMES
    for frame in (frames[0], frames[-1]):
        assert len(qr_matrix(frame, ecc="Q")) <= 17 + 4 * layout.max_version


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"module_mm": 0.45}, "at least 0.5 mm"),
        ({"ecc": "M"}, "error correction Q or H"),
        ({"columns": 4}, "do not fit"),
        ({"columns": 0}, "1 or more"),
        ({"max_version": 41}, "between 5 and 40"),
    ],
)
def test_a_layout_that_would_not_scan_or_fit_is_refused(
    change: dict[str, object], words: str
) -> None:
    with pytest.raises(TransferError, match=words):
        PaperLayout(**change)  # type: ignore[arg-type]


def test_the_label_under_a_code_names_type_position_and_message() -> None:
    frames = encode_frames(b"x" * 1000, "CRT", 459)
    assert frame_label("CRT", 2, 3, frames[1]) == f"CRT 2/3 {frames[1].split('/')[2][:8]}"
    assert re.fullmatch(r"CRT 2/3 [A-Z2-7]{8}", frame_label("CRT", 2, 3, frames[1]))


def test_an_unknown_type_is_refused_before_anything_is_drawn() -> None:
    with pytest.raises(TransferError, match="Unknown QR payload type 'PEM'"):
        render_transfer_pdf(b"abc", "PEM", title="x")


# ------------------------------------------------------------------------------------ listing


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=3000))
def test_a_listing_round_trips_every_byte_string(payload: bytes) -> None:
    assert parse_base32_listing("\n".join(base32_listing(payload))) == payload


def test_a_listing_has_numbered_lines_of_eight_groups_a_check_and_an_end_line() -> None:
    payload = bytes(range(256))
    lines = base32_listing(payload)
    assert len(lines) == -(-len(payload) // LISTING_LINE_BYTES) + 1
    for number, line in enumerate(lines[:-1], start=1):
        tokens = line.split()
        assert int(tokens[0]) == number
        assert all(re.fullmatch(r"[A-Z2-7]{1,4}", group) for group in tokens[1:-1])
        assert listing_check(number, "".join(tokens[1:-1])) == tokens[-1]
    assert lines[-1].split()[1:3] == ["END", "256"]
    # Every check lines up under the others, so a reader's eye finds it.
    assert len({len(line) for line in lines}) == 1


def test_the_line_check_is_the_first_four_base32_characters_of_a_crc32() -> None:
    crc = zlib.crc32(b"7/ABCDEFGH")
    top20 = crc >> 12
    expected = "".join(BASE32[(top20 >> shift) & 31] for shift in (15, 10, 5, 0))
    assert listing_check(7, "ABCDEFGH") == expected


def test_typing_aids_are_accepted_lower_case_extra_spaces_blank_lines() -> None:
    payload = bytes(range(100))
    typed = "\n\n".join("  " + line.lower().replace(" ", "   ") for line in base32_listing(payload))
    assert parse_base32_listing(typed) == payload


def test_any_one_character_typo_on_any_line_is_refused_naming_that_line() -> None:
    payload = bytes(range(256)) * 2
    lines = base32_listing(payload)
    for index in (0, 5, len(lines) - 2):
        line = lines[index]
        number = index + 1
        for position, char in enumerate(line):
            if char not in BASE32:
                continue
            for other in BASE32:
                if other == char:
                    continue
                typo = line[:position] + other + line[position + 1 :]
                text = "\n".join([*lines[:index], typo, *lines[index + 1 :]])
                with pytest.raises(TransferError, match=rf"line {number}\b"):
                    parse_base32_listing(text)


def test_two_swapped_neighbours_are_refused() -> None:
    lines = base32_listing(bytes(range(200)))
    line = lines[3]
    body = line[6:45]
    for position in range(len(body) - 1):
        a, b = body[position], body[position + 1]
        if a == b or " " in (a, b):
            continue
        swapped = line[:6] + body[:position] + b + a + body[position + 2 :] + line[45:]
        with pytest.raises(TransferError, match=r"line 4\b"):
            parse_base32_listing("\n".join([*lines[:3], swapped, *lines[4:]]))


def test_the_check_catches_every_single_byte_change_of_any_line_it_covers() -> None:
    """The claim in qr-frames.md: CRC-32 is linear, so whether a change is caught depends only on
    the change and its distance from the end; every one of them, for every line length a listing
    makes (up to a 7-digit line number), changes the top 20 bits."""
    for length in range(3, 8 + 1 + 32 + 1):
        zero = zlib.crc32(bytes(length))
        for position in range(length):
            for flip in range(1, 256):
                changed = bytearray(length)
                changed[position] = flip
                assert (zlib.crc32(bytes(changed)) ^ zero) >> 12, (length, position, flip)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda ls: [*ls[:2], *ls[3:]], "numbered 4 where line 3 was expected: a line is missing"),
        (lambda ls: [*ls[:3], ls[2], *ls[3:]], "numbered 3 where line 4 was expected"),
        (lambda ls: ls[:-1], "no END line after line 5"),
        (lambda ls: [*ls, ls[0]], "comes after the END line"),
        (lambda ls: [ls[0].replace(ls[0][6], "0", 1), *ls[1:]], r"line 1 .*not base32"),
        (lambda ls: [*ls[:-1], ls[-1].replace("END 100", "END 101")], "line 6 .*fails its check"),
        (lambda ls: [*ls[:2], "0003  ABCD"], "not a listing line"),
    ],
)
def test_a_damaged_listing_is_refused_with_the_line_named(edit: object, words: str) -> None:
    lines = base32_listing(bytes(range(100)))
    assert len(lines) == 6
    with pytest.raises(TransferError, match=words):
        parse_base32_listing("\n".join(edit(lines)))  # type: ignore[operator]


def test_a_zero_typed_for_the_letter_o_gets_a_hint() -> None:
    lines = base32_listing(b"\xff" * 40)
    wrong = lines[0][:6] + "0" + lines[0][7:]
    with pytest.raises(TransferError, match=r"character 1 \('0'\) is not base32.*did you mean O"):
        parse_base32_listing("\n".join([wrong, *lines[1:]]))


def test_the_worked_example_in_the_docs_is_what_the_code_prints() -> None:
    doc = (ROOT / "docs" / "qr-frames.md").read_text()
    section = doc[doc.index("## On paper") :]
    match = re.search(r"payload `([^`]+)`.*?```\n(.*?)```", section, re.S)
    assert match is not None, "qr-frames.md 'On paper' has a worked listing example"
    payload = match[1].encode("ascii")
    assert match[2].rstrip("\n").splitlines() == base32_listing(payload)
    assert parse_base32_listing(match[2]) == payload
