"""Typing a share at 80x24: four letters complete a word, a mark per position, the live checksum,
Enter only for a whole share, and the sheet's QR code read from its PDF or an image.

Shares are real SLIP-39 shares of a 256-bit key-encryption key (33 words), made with
``split_secret``; the engine is replaced by a worker asking ``TextualOperator.share_words``.
"""

from __future__ import annotations

import html
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qrcode
from PIL import Image
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from sealroom.backup.entry import entry_status, verdict_text
from sealroom.backup.shares import split_secret
from sealroom.backup.words import WORDS
from sealroom.ceremony.ports import ShareSheet, StepView
from sealroom.errors import TransferError
from sealroom.report.share_sheet import render_share_sheet
from sealroom.transfer.camera import CameraFrame
from sealroom.ui.operator import TextualOperator
from sealroom.ui.shares import ShareWordsScreen, read_sheet_qr
from tests.leaks import share_run_in
from tests.ui.helpers import next_screen, press_button, screen_text, type_text, until
from tests.ui.test_shares_ui import NOT_ASKED, QuestionsApp, answered, seen, type_quickly

SIZE = (80, 24)
SHOTS = Path("/tmp")
KEK = bytes(range(100, 132))
SHARE_SET = split_secret(KEK, 3, ["Bob Okafor", "Carol Nguyen", "Frank Moreau"])
SHARE = SHARE_SET.shares[0].words
WHAT = "key-encryption key"
CHECK = "\u2713"
CROSS = "\u2717"


def ask_bob(operator: TextualOperator, view: StepView) -> object:
    return operator.share_words(view, "bob", WHAT, 1, 3, None)


def another_word(word: str) -> str:
    return WORDS[(WORDS.index(word) + 1) % len(WORDS)]


def line(screen: ShareWordsScreen, widget_id: str) -> str:
    """The text of a status line, as rendered."""
    return " ".join(str(screen.query_one(f"#{widget_id}", Static).render()).split())


def shown_text(app: QuestionsApp) -> str:
    """What the room can read: every widget's text and the terminal as rendered (SVG's text)."""
    svg = app.export_screenshot()
    terminal = "".join(html.unescape(t) for t in re.findall(r">([^<]*)</text>", svg))
    return screen_text(app.screen) + "\n" + terminal


MESSAGES = " ".join(
    [
        *(
            verdict_text(entry_status(typed))
            for typed in (
                "",
                "qqqq",
                " ".join(SHARE),
                " ".join(SHARE[:20]),
                " ".join([*SHARE, "x"]),
            )
        ),
        "Camera, image or PDF: Type camera:0 and hold the sheet up to the camera, or type the "
        "path of an image or PDF, then Enter; the QR code's words go into the share field "
        "unseen and are checked as if typed. Esc goes back to typing.",
        "Not accepted: the QR code read is not a share sheet's words; scan the sheet again or "
        "type the words. Reading the sheet's QR code. The sheet's QR code was read; press "
        "Enter to hand the share over.",
    ]
)
"""The English the screen may show besides its opening text, whatever is typed or scanned."""


def assert_no_word_shown(
    app: QuestionsApp,
    baseline: str,
    words: tuple[str, ...] | list[str] = SHARE,
    also: str = "",
) -> None:
    """No word of the share (whole, or by its first four letters) is on the screen.

    Share words are common English: a word counts as shown if its first four letters start a
    word on the screen but in neither the screen as it was before anything was typed, nor any
    status message, nor ``also`` (a path typed). No two share words in a row are on the screen.
    """
    text = shown_text(app).lower()
    known = f"{baseline} {MESSAGES} {also}".lower()
    for word in words:
        pattern = rf"\b{word[:4]}"
        if re.search(pattern, text):
            assert re.search(pattern, known), "a share word is on the screen"
    assert share_run_in(words, text, length=2) is None, "two share words in a row are on the screen"


async def on_screen(pilot: Pilot[Any], app: QuestionsApp) -> ShareWordsScreen:
    screen = await next_screen(pilot, app, ShareWordsScreen)
    await pilot.pause()
    return screen


# ----------------------------------------------------------------------------------- typing


async def test_prefixes_complete_to_words_with_marks_count_and_checksum_then_enter() -> None:
    app = QuestionsApp(ask_bob)
    async with app.run_test(size=SIZE) as pilot:
        screen = await on_screen(pilot, app)
        baseline = shown_text(app)
        field = screen.query_one("#share", Input)
        assert field.password and screen.focused is field
        assert line(screen, "word-count") == "0 of 33 words typed"
        assert line(screen, "share-check") == "The checksum is worked out when every word is in."

        # Four letters and a space: the field holds the whole word.
        await type_text(pilot, SHARE[0][:4].upper() + " ")
        await until(pilot, lambda: field.value == SHARE[0] + " ", "the first word completed")
        await type_quickly(pilot, " ".join(w[:4] for w in SHARE[1:10]) + " ")
        await until(pilot, lambda: field.value == " ".join(SHARE[:10]) + " ", "ten words completed")
        assert line(screen, "word-count") == "10 of 33 words typed"
        marks = str(screen.query_one("#share-marks", Static).render())
        # A key-encryption key's share has 33 words: every position is marked from the start.
        assert marks.splitlines()[0].split() == ["1", "6", "11", "16", "21", "26", "31"]
        assert marks.splitlines()[1] == " ".join(
            [CHECK * 5, CHECK * 5, *(["\u00b7" * 5] * 4), "\u00b7" * 3]
        )
        text = seen(app)
        assert "\u2022" * len(field.value) in text, "the field shows a dot per character"
        assert_no_word_shown(app, baseline)

        await type_quickly(pilot, " ".join(w[:4] for w in SHARE[10:]))
        await until(pilot, lambda: "33 of 33" in line(screen, "word-count"), "33 words")
        assert line(screen, "share-check") == (
            "Checksum correct: this is a whole share. Press Enter to hand it over."
        )
        marks = str(screen.query_one("#share-marks", Static).render())
        assert marks.splitlines()[1] == " ".join([CHECK * 5] * 6 + [CHECK * 3])
        text = seen(app)
        assert_no_word_shown(app, baseline)
        app.save_screenshot("share-entry-complete.svg", str(SHOTS))

        await pilot.press("enter")
        # The last word, typed by its prefix without a space, is completed too.
        assert await answered(pilot, app) == " ".join(SHARE)
        assert field.value == "", "the words outlived the screen"


async def test_a_typo_shows_its_position_and_enter_hands_nothing_over() -> None:
    app = QuestionsApp(ask_bob)
    async with app.run_test(size=SIZE) as pilot:
        screen = await on_screen(pilot, app)
        baseline = shown_text(app)
        field = screen.query_one("#share", Input)

        # Word 7 is not a word at all: its position, marked and named, and Enter refused.
        typo = list(SHARE[:12])
        typo[6] = "qwrt"
        await type_quickly(pilot, " ".join(w[:5] for w in typo) + " ")
        await until(pilot, lambda: "Word 7" in line(screen, "share-check"), "the typo named")
        assert line(screen, "share-check") == (
            "Word 7 is not in the SLIP-39 list \u2014 compare it with your sheet."
        )
        marks = str(screen.query_one("#share-marks", Static).render()).splitlines()[1]
        assert marks.startswith(f"{CHECK * 5} {CHECK}{CROSS}{CHECK * 3} {CHECK * 2}\u00b7")
        app.save_screenshot("share-entry-typo.svg", str(SHOTS))
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.screen is screen and app.answer is NOT_ASKED
        text = seen(app)
        assert "Not accepted: word 7 is not in the SLIP-39 list; correct it and press Enter" in (
            " ".join(text.split())
        )
        assert "qwrt" not in text
        assert_no_word_shown(app, baseline)

        # A real word in the wrong place: every mark is a tick, only the checksum catches it.
        await pilot.press("ctrl+u")
        wrong = list(SHARE)
        wrong[20] = another_word(SHARE[20])
        await type_quickly(pilot, " ".join(wrong))
        await until(pilot, lambda: "Checksum" in line(screen, "share-check"), "the checksum")
        assert line(screen, "share-check") == (
            "Checksum wrong: a word is mistyped \u2014 compare each word with your sheet."
        )
        marks = str(screen.query_one("#share-marks", Static).render()).splitlines()[1]
        assert CROSS not in marks and "\u00b7" not in marks
        app.save_screenshot("share-entry-checksum-wrong.svg", str(SHOTS))
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.screen is screen and app.answer is NOT_ASKED
        assert "Not accepted: checksum wrong: a word is mistyped" in seen(app)
        assert_no_word_shown(app, baseline, wrong)

        # Too few words: Enter says how many are in.
        await pilot.press("ctrl+u")
        await type_quickly(pilot, " ".join(SHARE[:25]))
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.answer is NOT_ASKED
        assert "Not accepted: 25 of 33 words typed: type every word" in " ".join(seen(app).split())

        await type_quickly(pilot, " " + " ".join(SHARE[25:]))
        await pilot.press("enter")
        assert await answered(pilot, app) == " ".join(SHARE)
        assert field.value == ""


# ---------------------------------------------------------------------------------- scanning


def sheet_pdf(tmp_path: Path) -> Path:
    sheet = ShareSheet(
        ceremony_id="EXR-RKG-2027-01",
        title="Key-encryption key share",
        subject="backup of the root CA key",
        custodian="Bob Okafor",
        member_index=1,
        member_count=3,
        threshold=3,
        set_identifier=SHARE_SET.identifier,
        check_value=SHARE_SET.check_value,
        rehearsal=True,
        key_check_value="a1b2c3",
    )
    path = tmp_path / "share-1-of-3.pdf"
    path.write_bytes(render_share_sheet(sheet, SHARE))
    return path


def qr_png(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_H).save(str(path))
    return path


async def scan(pilot: Pilot[Any], screen: ShareWordsScreen, source: str) -> None:
    if not screen.scanning:
        await press_button(pilot, screen, "scan")
    path_field = screen.query_one("#scan-path", Input)
    assert screen.focused is path_field
    path_field.value = source
    await pilot.press("enter")
    await until(pilot, lambda: not screen.reading, "the sheet read")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils is not installed")
async def test_the_sheets_qr_code_is_read_from_its_pdf_checked_and_never_shown(
    tmp_path: Path,
) -> None:
    app = QuestionsApp(ask_bob)
    async with app.run_test(size=SIZE) as pilot:
        screen = await on_screen(pilot, app)
        baseline = shown_text(app)
        field = screen.query_one("#share", Input)
        assert [b.id for b in screen.query(Button)] == ["scan"]
        await press_button(pilot, screen, "scan")
        assert "Camera, image or PDF:" in seen(app)
        app.save_screenshot("share-entry-scan.svg", str(SHOTS))

        # This machine has no camera: the device is named; a QR code that is not a share fills
        # nothing.
        await scan(pilot, screen, "camera:7")
        assert "/dev/video7" in seen(app)
        assert field.value == ""
        await scan(pilot, screen, str(qr_png(tmp_path, "hello world", "other.png")))
        text = " ".join(seen(app).split())
        assert "Not accepted: the QR code read is not a share sheet's words" in text
        assert field.value == ""
        await scan(pilot, screen, str(tmp_path / "missing.pdf"))
        assert "missing.pdf does not exist" in seen(app)

        await scan(pilot, screen, str(sheet_pdf(tmp_path)))
        await until(pilot, lambda: bool(field.value), "the words in the field")
        assert not screen.scanning
        # Textual applies a focus change after the next refresh: wait for it, do not race it.
        await until(pilot, lambda: screen.focused is field, "the focus back on the words")
        assert field.selection.is_empty, "a key now would replace the scanned share"
        assert line(screen, "word-count") == "33 of 33 words typed"
        assert line(screen, "share-check").startswith("Checksum correct")
        assert_no_word_shown(app, baseline, also=str(tmp_path))
        app.save_screenshot("share-entry-scanned.svg", str(SHOTS))
        await pilot.press("enter")
        assert await answered(pilot, app) == " ".join(SHARE)
        assert field.value == ""


async def test_a_scanned_share_with_a_wrong_checksum_is_not_put_in_the_field(
    tmp_path: Path,
) -> None:
    wrong = list(SHARE)
    wrong[3] = another_word(SHARE[3])
    app = QuestionsApp(ask_bob)
    async with app.run_test(size=SIZE) as pilot:
        screen = await on_screen(pilot, app)
        baseline = shown_text(app)
        field = screen.query_one("#share", Input)
        await scan(pilot, screen, str(qr_png(tmp_path, " ".join(wrong), "wrong.png")))
        text = " ".join(seen(app).split())
        assert "not a share sheet's words (checksum wrong: a word is mistyped)" in text
        assert field.value == "" and app.answer is NOT_ASKED
        assert_no_word_shown(app, baseline, wrong, also=str(tmp_path))

        await scan(pilot, screen, str(qr_png(tmp_path, " ".join(SHARE), "sheet.png")))
        await until(pilot, lambda: bool(field.value), "the words in the field")
        await pilot.press("enter")
        assert await answered(pilot, app) == " ".join(SHARE)


async def test_without_a_reader_there_is_no_scan_button() -> None:
    def ask(operator: TextualOperator, view: StepView) -> object:
        return operator.share_words(view, "bob", WHAT, 1, 3, None)

    app = QuestionsApp(ask)
    async with app.run_test(size=SIZE) as pilot:
        screen = await on_screen(pilot, app)
        assert screen.reader is not None
        screen2 = ShareWordsScreen(
            app,
            screen.view,
            custodian=screen.custodian,
            what=WHAT,
            attempt=1,
            attempts_left=3,
            refused=None,
            reader=None,
        )
        await app.push_screen(screen2)
        await pilot.pause()
        assert not list(screen2.query(Button))
        assert "Scan" not in seen(app)
        await pilot.press("escape")
        assert app.screen is screen2
        app.pop_screen()
        await pilot.pause()
        await type_quickly(pilot, " ".join(SHARE))
        await pilot.press("enter")
        assert await answered(pilot, app) == " ".join(SHARE)


class FakeCamera:
    """A camera that shows ``images`` one per frame (GREY), then stops."""

    def __init__(self, images: list[Image.Image]) -> None:
        self.images = images
        self.label = "camera 0"

    def __enter__(self) -> Iterator[CameraFrame]:
        return iter(
            CameraFrame("GREY", i.width, i.height, i.convert("L").tobytes()) for i in self.images
        )

    def __exit__(self, *exc: object) -> None:
        return None


def _qr(text: str) -> Image.Image:
    return qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_H).get_image()


def test_a_share_sheet_held_up_to_the_camera_is_read_past_other_codes() -> None:
    words = " ".join(SHARE)
    frames = [
        Image.new("L", (400, 300), 255),  # nothing in view yet
        _qr("SR1/TXT/XFGSPOMTJU7ARJJOKLL5U7NL7LCIJ37DPJJYB3UQRD32ZYXPZXUQ/11/1-3/NBSWY/NVBSRLI"),
        _qr(words),
    ]
    assert read_sheet_qr("camera:0", camera=lambda index: FakeCamera(frames)) == words


def test_a_camera_that_sees_no_sheet_says_so_without_any_word() -> None:
    frames = [Image.new("L", (400, 300), 255)] * 3
    with pytest.raises(TransferError, match="camera 0 saw no share sheet's QR code in 0 s"):
        read_sheet_qr("camera:0", camera=lambda index: FakeCamera(frames), seconds=0)
