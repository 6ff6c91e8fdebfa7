"""m-of-n activation in the TUI at 80x24: a custodian called to the printer, share words typed
unseen, and the serial of each share sheet's bag typed twice.

The engine is replaced by a worker that asks ``TextualOperator`` the engine's questions directly,
so each screen is tested on its own, as the room answers it with the keyboard.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Button, Input

from sealroom.backup.shares import split_secret
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.ports import StepView
from sealroom.ui import app as app_module
from sealroom.ui import forms, widgets
from sealroom.ui.app import SealroomApp
from sealroom.ui.forms import TypingScreen
from sealroom.ui.operator import TextualOperator
from sealroom.ui.shares import CustodianReadyScreen, ShareWordsScreen
from tests.fakes import fake_world
from tests.leaks import share_run_in
from tests.ui.helpers import (
    KEY_NAMES,
    drive,
    next_screen,
    press_button,
    screen_text,
    type_text,
    typed_value,
    until,
)

SIZE = (80, 24)
SCRIPT = Path(__file__).resolve().parents[2] / "ceremony_scripts" / "hsm-initialisation.yaml"
SHOTS = Path("/tmp")
WORDS = " ".join(split_secret(bytes(range(16)), 2, ["bob", "carol"]).shares[0].words)
"""A real 20-word SLIP-39 share (the screen hands over only a share whose checksum is right)."""
NOT_ASKED = object()


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(widgets, "clock_text", lambda moment=None: "09:14:03 UTC")
    monkeypatch.setattr(forms, "clock_text", lambda moment=None: "09:14:03 UTC")


class QuestionsApp(SealroomApp):
    """The app, with the engine replaced by ``ask``: questions put to the operator in the worker."""

    CSS_PATH = Path(app_module.__file__).with_name("sealroom.tcss")

    def __init__(self, ask: Callable[[TextualOperator, StepView], object]) -> None:
        loaded = load_script(SCRIPT)
        super().__init__(fake_world(loaded).runner, unsafe_no_arming_delay=True)
        self.ask = ask
        self.answer: object = NOT_ASKED
        steps = loaded.script.steps
        index = next(i for i, s in enumerate(steps) if s.id == "initialise-token")
        self.view = StepView(index, len(steps), steps[index], ("bob", "carol"), {})

    def run_ceremony(self) -> None:
        self.started.set()
        try:
            self.answer = self.ask(self.operator, self.view)
        finally:
            self.finished.set()
            with suppress(RuntimeError):
                self.call_from_thread(self.exit, None)


def seen(app: SealroomApp) -> str:
    """Everything on the screen: its widgets' text and the rendered terminal."""
    return screen_text(app.screen) + "\n" + app.export_screenshot()


async def type_quickly(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` as key events through the app, as the keyboard does, without a pause after
    each key (``pilot.press`` waits for the app to be idle after every key: seconds per share)."""
    for character in text:
        pilot.app.post_message(events.Key(KEY_NAMES.get(character, character), character))
    await pilot.pause()


async def answered(pilot: Pilot[Any], app: QuestionsApp) -> object:
    await until(pilot, lambda: app.answer is not NOT_ASKED, "the operator's answer")
    return app.answer


# ------------------------------------------------------------------------- custodian_ready


async def test_a_custodian_is_called_by_name_and_the_sheet_prints_only_on_the_button() -> None:
    def ask(operator: TextualOperator, view: StepView) -> object:
        operator.custodian_ready(view, "carol", "HSM user PIN")
        return "print"

    app = QuestionsApp(ask)
    async with app.run_test(size=SIZE) as pilot:
        screen = await next_screen(pilot, app, CustodianReadyScreen)
        text = seen(app)
        assert "Carol Nguyen, please come to the printer." in text
        assert "Crypto officer, PIN share custodian" in text
        assert "2 of 3; any 2 of the 3 shares together unlock the HSM user PIN" in " ".join(
            screen_text(screen).split()
        )
        assert (
            "Your share of the HSM user PIN prints when you press Enter; only you look at it, "
            "then you fold it and seal it in a tamper-evident bag in view of the witnesses."
        ) in " ".join(screen_text(screen).split())
        button = screen.query_one("#print", Button)
        assert [b.id for b in screen.query(Button)] == ["print"]
        assert "Print Carol Nguyen's share sheet" in str(button.label)
        assert screen.focused is button
        app.save_screenshot("shares-custodian-ready.svg", str(SHOTS))

        # Keys other than the button's print nothing; nor does Enter before the screen is armed.
        await pilot.press("space", "x", "tab", "escape")
        app.arming_seconds = 60.0
        button.focus()
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.answer is NOT_ASKED and app.screen is screen

        app.arming_seconds = 0.0
        await press_button(pilot, screen, "print")
        assert await answered(pilot, app) == "print"


# ----------------------------------------------------------------------------- share_words


async def test_share_words_are_returned_as_typed_and_shown_only_as_dots_and_a_count() -> None:
    def ask(operator: TextualOperator, view: StepView) -> object:
        return operator.share_words(view, "bob", "HSM user PIN", 1, 3, None)

    app = QuestionsApp(ask)
    async with app.run_test(size=SIZE) as pilot:
        screen = await next_screen(pilot, app, ShareWordsScreen)
        field = screen.query_one("#share", Input)
        assert field.password and screen.focused is field
        text = seen(app)
        assert "Bob Okafor (Crypto officer, " in text
        assert "0 of 20 words typed" in text
        assert "Attempt 1 of 3." in text
        assert "refused" not in text

        words = WORDS.split()
        await type_text(pilot, " ".join(words[:3]))
        await type_quickly(pilot, " " + " ".join(words[3:12]))
        assert "12 of 20 words typed" in seen(app)
        await type_quickly(pilot, " " + " ".join(words[12:]))
        text = seen(app)
        assert "20 of 20 words typed" in text
        assert "Checksum correct: this is a whole share." in text
        assert "\u2022" * 20 in text
        app.save_screenshot("shares-words.svg", str(SHOTS))
        # Single words are common English; any two of the share in a row would be a leak.
        assert share_run_in(words, text, length=2) is None, "share words are on the screen"

        await pilot.press("enter")
        assert await answered(pilot, app) == WORDS
        assert field.value == "", "the words outlived the screen"


async def test_share_words_refuse_empty_pasted_and_miscounted_input_and_show_the_refusal() -> None:
    refusal = "word 7 is not a SLIP-39 word; check it against the sheet"

    def ask(operator: TextualOperator, view: StepView) -> object:
        return operator.share_words(view, "frank", "HSM user PIN", 2, 2, refusal)

    app = QuestionsApp(ask)
    async with app.run_test(size=SIZE) as pilot:
        screen = await next_screen(pilot, app, ShareWordsScreen)
        text = seen(app)
        assert (
            "Attempt 1 was refused. Word 7 is not a SLIP-39 word; check it against the sheet. "
            "Type all the words again: 2 attempts left."
        ) in " ".join(text.split())
        assert "2 attempts left" in text and "Attempt 2 of 3." in text
        app.save_screenshot("shares-words-refused.svg", str(SHOTS))

        await pilot.press("enter")
        assert app.screen is screen
        assert "Not accepted: nothing was typed" in seen(app)

        field = screen.query_one("#share", Input)
        field.post_message(events.Paste(WORDS))
        await pilot.pause()
        assert field.value == "", "pasted words were accepted"

        await type_quickly(pilot, " ".join(WORDS.split()[:3]))
        await pilot.press("enter")
        assert app.screen is screen
        text = " ".join(seen(app).split())
        assert "Not accepted: 3 of 20 words typed: type every word" in text
        assert "(no attempt is used)" in text
        assert app.answer is NOT_ASKED

        await pilot.press("ctrl+u")
        await type_quickly(pilot, WORDS)
        await pilot.press("enter")
        assert await answered(pilot, app) == WORDS


# --------------------------------------------------------------------- share-sheet bag serials


async def test_a_share_sheet_bag_serial_is_typed_twice_with_the_bag_serial_check() -> None:
    prompt = "Bag serial for Bob Okafor's share sheet"

    def ask(operator: TextualOperator, view: StepView) -> object:
        first = operator.text(view, prompt, 1)
        again = operator.text(view, f"{prompt} (again)", 1)
        retry = operator.text(view, prompt, 2)
        return first, again, retry

    app = QuestionsApp(ask)
    async with app.run_test(size=SIZE) as pilot:
        screen = await next_screen(pilot, app, TypingScreen)
        request = screen.request
        assert (request.kind, request.format, request.label) == ("sheet-bag", "bag-serial", prompt)
        assert request.words is None, "the step's confirmation words were taken for the serial"
        text = seen(app)
        assert "SHARE SHEET BAG" in text
        assert "Bob Okafor folds the share sheet, words inside, and seals it" in text
        assert f"{prompt}:" in text and "Attempt 1 of 3" in text
        app.save_screenshot("shares-bag-serial.svg", str(SHOTS))

        await type_text(pilot, "TEB 20 01")
        await pilot.press("enter")
        assert app.screen is screen
        assert "is not a valid bag-serial" in seen(app)
        await pilot.press("ctrl+u")
        await type_text(pilot, "TEB-200101")
        await pilot.press("enter")

        screen = await next_screen(pilot, app, TypingScreen, after=screen)
        assert screen.request.again and f"{prompt} (again):" in seen(app)
        await type_text(pilot, "TEB-200110")
        await pilot.press("enter")

        screen = await next_screen(pilot, app, TypingScreen, after=screen)
        text = seen(app)
        assert "Refused: the two entries differed ('TEB-200101', then 'TEB-200110')" in " ".join(
            text.split()
        )
        assert "Attempt 2 of 3" in text
        app.save_screenshot("shares-bag-serial-refused.svg", str(SHOTS))
        await type_text(pilot, "TEB-200101")
        await pilot.press("enter")
        assert await answered(pilot, app) == ("TEB-200101", "TEB-200110", "TEB-200101")


# ------------------------------------------------------------- the whole ceremony, with the engine


async def test_hsm_initialisation_runs_in_the_tui_with_share_sheets_and_share_words() -> None:
    """The engine's own questions reach these screens: every custodian is called and prints a
    sheet, bags are typed twice, a mistyped word is caught on the screen by position, another
    custodian's share is refused by the engine and typed again, and no share word reaches the
    screen or the journal."""
    world = fake_world(load_script(SCRIPT))
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    called: list[str] = []
    shown: list[str] = []
    refusals: list[str] = []

    async def ready(pilot: Pilot[Any], screen: Any) -> bool:
        assert isinstance(screen, CustodianReadyScreen)
        called.append(f"{screen.custodian.name}: {screen.what}")
        await press_button(pilot, screen, "print")
        return True

    async def words(pilot: Pilot[Any], screen: Any) -> bool:
        assert isinstance(screen, ShareWordsScreen)
        typed = list(world.sheets.words(screen.custodian.name, screen.what))
        if screen.refused:
            refusals.append(screen.refused)
            assert "Attempt 1 was refused. Share from Bob Okafor: this is share 2" in seen(app)
        elif not refusals:
            # The first custodian mistypes word 7: the screen names it and hands nothing over.
            mistyped = list(typed)
            mistyped[6] = "zzzz"
            await type_quickly(pilot, " ".join(mistyped))
            await pilot.press("enter")
            assert "Not accepted: word 7 is not in the SLIP-39 list" in seen(app)
            assert app.screen is screen
            await pilot.press("ctrl+u")
            # Then types Carol's whole share: the checksum is right, the engine refuses it.
            typed = list(world.sheets.words("Carol Nguyen", screen.what))
        await type_quickly(pilot, " ".join(typed))
        shown.append(seen(app))
        await pilot.press("enter")
        return True

    async def typing(pilot: Pilot[Any], screen: Any) -> bool:
        assert isinstance(screen, TypingScreen)
        await type_quickly(pilot, typed_value(screen))
        await pilot.press("enter")
        return True

    hooks = {"CustodianReadyScreen": ready, "ShareWordsScreen": words, "TypingScreen": typing}
    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, hooks)
    assert app.result is not None and app.result.completed, app.result
    names = ("Bob Okafor", "Carol Nguyen", "Frank Moreau")
    assert called == [f"{n}: HSM user PIN" for n in names] + [
        f"{n}: HSM security officer PIN" for n in names
    ]
    assert refusals == [
        "Share from Bob Okafor: this is share 2 of 3, printed for Carol Nguyen; Bob Okafor "
        "holds share 1 of 3."
    ]
    # Any three words of a share in a row would give it away (single words are common English).
    runs = {
        " ".join(share[i : i + 3])
        for _, share in world.sheets.sheets.values()
        for i in range(len(share) - 2)
    }
    journal = json.dumps(world.journal.entries)
    for run in runs:
        assert run not in journal, f"share words ({run!r}) are in the journal"
        for text in shown:
            assert run not in text, f"share words ({run!r}) are shown"
