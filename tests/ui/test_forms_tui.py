"""Typed entries, confirmations, breaks, sign-off and deviations in the TUI, at 80x24 over fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from sealroom.ceremony.loader import LoadedScript, load_script
from sealroom.ceremony.script import KeySpec
from sealroom.errors import HsmError
from sealroom.ui import forms, widgets
from sealroom.ui.app import SealroomApp
from sealroom.ui.forms import (
    BreakLeaveScreen,
    BreakScreen,
    DeviationScreen,
    FailureDecisionScreen,
    SignOffScreen,
    TypingScreen,
)
from sealroom.ui.screens import FailureScreen, StepScreen
from sealroom.ui.widgets import InlineChoice, ListPicker
from tests.fakes import ROOT_SCRIPT, FakeHsm, SoftwareKey, fake_world
from tests.ui.helpers import (
    choose_people,
    drive,
    footer,
    next_screen,
    pick,
    press_button,
    screen_text,
    sign_all,
    type_text,
)

SIZE = (80, 24)
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

BREAK_STEP = """\
  - id: break
    act: closing
    kind: break
    title: Short break before the hand-over
    instruction: >-
      Participants may leave the room. The sealed HSM stays in view of the internal witness.
    recheck_bags: [hsm]
    performer: administrator
    witnesses: [internal-witness]
"""

CONFIRM_STEP = """\
  - id: confirm-room
    act: opening
    kind: confirm
    title: Confirm in writing that the room is sealed
    instruction: The administrator types the confirmation words shown below.
    words: ROOM B-104 IS SEALED
    performer: administrator
    witnesses: [auditor]
"""


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar's clock reads one fixed time, so the screenshots in docs/ change only with the UI."""
    monkeypatch.setattr(widgets, "clock_text", frozen_clock_text)
    monkeypatch.setattr(forms, "clock_text", frozen_clock_text)


def frozen_clock_text(moment: object = None) -> str:
    return "09:14:03 UTC"


def variant(tmp_path: Path, before: str, step_yaml: str) -> LoadedScript:
    """The root script with ``step_yaml`` inserted before the step ``before``."""
    anchor = f"  - id: {before}\n"
    text = ROOT_SCRIPT.read_text()
    assert anchor in text
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(anchor, step_yaml + anchor, 1))
    return load_script(path)


def stop_here(app: SealroomApp) -> Any:
    async def hook(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        app.exit(None)
        return True

    return hook


def entries(app: SealroomApp, event: str) -> list[dict[str, Any]]:
    journal = app.runner.ports.journal
    return [e for e in journal.entries if e["event"] == event]  # type: ignore[attr-defined]


def events_of(app: SealroomApp) -> list[str]:
    return list(app.runner.ports.journal.events())  # type: ignore[attr-defined]


async def clear_field(pilot: Pilot[Any]) -> None:
    await pilot.press("end", "ctrl+u")


# ------------------------------------------------------------------------------- deviations


async def test_a_deviation_recorded_at_a_manual_step_is_journaled_with_its_decider() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    seen: list[str] = []

    async def room(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, StepScreen)
        assert "F2 Record a deviation" in footer(screen)
        await pilot.press("f2")  # both roles have one holder present: they are chosen already
        form = await next_screen(pilot, app, DeviationScreen)
        text = screen_text(form)
        seen.append(text)
        assert "RECORD A DEVIATION" in text and "Confirm the room is secured" in text
        assert "[Confirm that the door is closed and logged" in text  # expected, prefilled
        assert "Skip: the step is recorded as not performed" in text
        assert form.focused is form.query_one("#observed")
        await type_text(pilot, "The door log printer was out of paper")
        await pick(pilot, form.query_one("#decision", ListPicker), "proceed")
        form.query_one("#body").scroll_home(animate=False)
        await pilot.pause()
        app.save_screenshot("tui-deviation.svg", str(IMAGES))
        decider = form.query_one("#decider", ListPicker)
        assert decider.picked == {"alice"}, "the only administrator is chosen already"
        await pick(pilot, decider, "bob")
        refusal = screen_text(form)
        assert "Not accepted: Bob Okafor cannot decide a deviation" in refusal
        assert "lets only a Ceremony administrator decide" in refusal
        await press_button(pilot, form, "record")
        assert app.screen is form, "a deviation decided by a crypto officer was accepted"
        await pick(pilot, decider, "alice")
        assert "Not accepted" not in screen_text(form)
        await press_button(pilot, form, "record")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"room-check": room, "software-integrity": stop_here(app)})
    assert seen
    deviation = entries(app, "deviation.recorded")[0]
    assert deviation["step"] == "room-check"
    assert deviation["data"]["decision"] == "proceed"
    assert deviation["data"]["observed"] == "The door log printer was out of paper"
    assert deviation["data"]["expected"].startswith("Confirm that the door is closed")
    assert deviation["actors"] == [
        {"participant": "alice", "role": "administrator", "capacity": "decider"}
    ]
    done = [e for e in entries(app, "step.completed") if e["step"] == "room-check"]
    assert done[0]["data"]["deviation"] is True
    performer = {a["participant"]: a["capacity"] for a in done[0]["actors"]}
    assert performer == {"alice": "performer", "dan": "witness"}


async def test_a_deviation_can_abort_the_ceremony_at_an_action_but_not_skip_it() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    shown: list[str] = []

    async def login(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, StepScreen)
        await pilot.press("f2")
        assert app.screen is screen, "the form opened before a crypto officer was chosen"
        assert "choose who acts as Crypto officer, then press F2" in screen_text(screen)
        await choose_people(pilot, screen, {"crypto-officer": "bob"})
        await pilot.press("f2")
        form = await next_screen(pilot, app, DeviationScreen)
        text = screen_text(form)
        assert "Skip" not in text, "an action cannot be skipped"
        assert "Proceed: the action still runs, with this deviation on record" in text
        await type_text(pilot, "The HSM does not power on")
        await pick(pilot, form.query_one("#decision", ListPicker), "abort")
        await press_button(pilot, form, "record")
        failure = await next_screen(pilot, app, FailureScreen)
        shown.append(screen_text(failure))
        await press_button(pilot, failure, "close")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"hsm-login": login})
    assert "THE CEREMONY HAS STOPPED" in shown[0]
    assert "The HSM does not power on" in shown[0]
    assert events_of(app)[-2:] == ["deviation.recorded", "ceremony.aborted"]
    assert entries(app, "deviation.recorded")[0]["data"]["decision"] == "abort"
    assert "login" not in world.hsm.calls
    assert app.result is not None and not app.result.completed


async def test_no_deviation_key_where_the_engine_would_not_read_it() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def attendance(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        await pilot.press("f2")
        assert not isinstance(app.screen, DeviationScreen)
        assert "Record a deviation" not in footer(app.screen)
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"attendance": attendance, "clock": stop_here(app)})


# ------------------------------------------------------------------------------- entries


async def test_a_refused_entry_says_why_and_asks_again() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    texts: list[str] = []

    async def bag(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if isinstance(screen, StepScreen):
            await choose_people(pilot, screen, {"crypto-officer": "bob"})
            return False
        assert isinstance(screen, TypingScreen)
        request = screen.request
        text = screen_text(screen)
        texts.append(text)
        if request.attempt == 1 and not request.again:
            assert "HSM bag serial:" in text and "Attempt 1 of 3" in text
            assert "Bob Okafor (Crypto officer) types" in text
            app.save_screenshot("tui-entry.svg", str(IMAGES))
            await type_text(pilot, "TEB 100299")  # a slip of format: refused here, no attempt
            await pilot.press("enter")
            assert app.screen is screen
            assert "'TEB 100299' is not a valid bag-serial" in screen_text(screen)
            assert "no attempt is used" in screen_text(screen)
            await clear_field(pilot)
            value = "TEB-100299"
        elif request.attempt == 1:
            assert "HSM bag serial (again):" in text and "Typed twice" in text
            value = "TEB-100299"
        elif request.attempt == 2 and not request.again:
            assert "Refused: 'TEB-100299' is not the HSM bag serial the script lists" in text
            assert "Attempt 2 of 3" in text and "2 attempts left" in text
            value = "TEB-100201"
        elif request.attempt == 2:
            value = "TEB-100210"  # differs from the first typing
        elif not request.again:
            assert "Refused: the two entries differed ('TEB-100201', then 'TEB-100210')" in text
            assert "this is the last attempt" in text
            value = "TEB-100201"
        else:
            value = "TEB-100201"
        await type_text(pilot, value)
        await pilot.press("enter")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"hsm-bag": bag, "hsm-serial": stop_here(app)})
    assert len(texts) == 6
    rejected = [e["data"]["problem"] for e in entries(app, "entry.rejected")]
    assert rejected == [
        "'TEB-100299' is not the scripted 'TEB-100201'",
        "the two entries differ",
    ]
    recorded = entries(app, "entry.recorded")[-1]
    assert recorded["step"] == "hsm-bag"
    assert recorded["data"]["value"] == "TEB-100201" and recorded["data"]["attempts"] == 3


async def test_an_entry_refused_three_times_lets_the_room_proceed_with_a_deviation() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    shown: list[str] = []

    async def serial(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if isinstance(screen, TypingScreen):
            await type_text(pilot, "HSM-9999")
            await pilot.press("enter")
            return True
        if isinstance(screen, FailureDecisionScreen):
            text = screen_text(screen)
            shown.append(text)
            assert "THE ENTRY WAS REFUSED" in text
            assert "HSM serial number: 'HSM-9999' is not the scripted 'HSM-0001'" in text
            assert "Retry" not in text
            await pick(pilot, screen.query_one("#decision", ListPicker), "proceed")
            screen.query_one("#note", Input).focus()
            await type_text(pilot, "label worn")
            await press_button(pilot, screen, "record")
            return True
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"hsm-serial": serial, "hsm-login": stop_here(app)})
    assert shown
    assert len(entries(app, "entry.rejected")) == 3
    deviation = entries(app, "deviation.recorded")[0]
    assert deviation["data"]["decision"] == "proceed"
    assert deviation["data"]["note"] == "label worn"
    assert deviation["actors"][0]["participant"] == "alice"
    done = [e for e in entries(app, "step.completed") if e["step"] == "hsm-serial"]
    assert done[0]["data"] == {"kind": "entry", "title": "Check the HSM's serial number"} | {
        "deviation": True
    }


class BrokenOnceHsm(FakeHsm):
    """Key generation fails the first time (a device error), then works."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_once = False

    def generate_key(self, spec: KeySpec) -> SoftwareKey:
        if not self.failed_once:
            self.failed_once = True
            raise HsmError("The HSM refused to generate the key: CKR_DEVICE_ERROR. Check the HSM.")
        return super().generate_key(spec)


async def test_a_failed_action_can_be_retried_by_decision_of_the_administrator() -> None:
    world = fake_world()
    world.hsm = BrokenOnceHsm()
    object.__setattr__(world.runner.ports, "hsm", world.hsm)
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def decide(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, FailureDecisionScreen)
        await press_button(pilot, screen, "record")
        assert "Not accepted: choose what the room decided" in screen_text(screen)
        await pick(pilot, screen.query_one("#decision", ListPicker), "retry")
        await press_button(pilot, screen, "record")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(
            pilot,
            app,
            {"FailureDecisionScreen": decide, "check-key-fingerprint": stop_here(app)},
        )
    events = events_of(app)
    assert events.index("deviation.recorded") < events.index("key.generated")
    assert entries(app, "deviation.recorded")[0]["data"]["decision"] == "retry"


# --------------------------------------------------------------------------- confirmations


async def test_a_typed_confirmation_refuses_wrong_words_and_pasting(tmp_path: Path) -> None:
    world = fake_world(variant(tmp_path, "software-integrity", CONFIRM_STEP))
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    texts: list[str] = []

    async def confirm(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if isinstance(screen, StepScreen):
            assert "ROOM B-104 IS SEALED" in screen_text(screen)
            assert screen.answer_button == "next"
            return False
        assert isinstance(screen, TypingScreen)
        text = screen_text(screen)
        texts.append(text)
        assert screen.query_one("#words").content == "ROOM B-104 IS SEALED"  # type: ignore[attr-defined]
        field = screen.query_one("#value", Input)
        if screen.request.attempt == 1:
            assert "capitals and spaces count" in text
            field.post_message(events.Paste("ROOM B-104 IS SEALED"))
            await pilot.pause()
            assert field.value == "", "pasted words were accepted"
            await type_text(pilot, "ROOM B-104 is sealed")
        else:
            assert (
                "Refused: the words typed differ from the words in the box at character 12" in text
            )
            assert "('i' typed where 'I' is required)" in text
            assert "2 attempts left" in text
            await type_text(pilot, "ROOM B-104 IS SEALED")
        await pilot.press("enter")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"confirm-room": confirm, "software-integrity": stop_here(app)})
    assert len(texts) == 2
    assert [e["data"]["attempt"] for e in entries(app, "confirmation.refused")] == [1]
    typed = entries(app, "confirmation.typed")[0]
    assert typed["data"] == {"words": "ROOM B-104 IS SEALED", "attempts": 2}


# ----------------------------------------------------------------------------------- break


async def test_a_break_records_who_left_and_returned_and_rechecks_the_bag(
    tmp_path: Path,
) -> None:
    world = fake_world(variant(tmp_path, "custody", BREAK_STEP))
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    seen: list[str] = []

    async def pause(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if isinstance(screen, StepScreen):
            text = screen_text(screen)
            assert "the bag serial is typed again: Hardware security module" in text
            return False
        if isinstance(screen, BreakLeaveScreen):
            leaving = screen.query_one("#leaving", ListPicker)
            await pick(pilot, leaving, "bob")
            await pick(pilot, leaving, "erin")
            await press_button(pilot, screen, "start-break")
            return True
        if isinstance(screen, BreakScreen):
            text = screen_text(screen)
            seen.append(text)
            assert "BREAK  \u00b7  THE CEREMONY IS PAUSED" in text
            assert "Paused since " in text and " UTC" in text
            assert "Bob Okafor, Erin Schmidt (Example Audit LLP)" in text
            assert (
                "Alice Martin, Carol Nguyen, Frank Liu, Hana Kowalski, Ines Duarte, Judit Varga, "
                "Kemal Aydin, Dan Ivanov"
            ) in text
            app.save_screenshot("tui-break.svg", str(IMAGES))
            await press_button(pilot, screen, "resume")
            refusal = screen_text(screen)
            assert app.screen is screen
            assert "nobody in the room holds the role Independent witness (auditor)" in refusal
            assert "wait for Erin Schmidt (Example Audit LLP)" in refusal
            returned = screen.query_one("#returned", ListPicker)
            await pick(pilot, returned, "erin")
            await pick(pilot, returned, "bob")
            await press_button(pilot, screen, "resume")
            return True
        assert isinstance(screen, TypingScreen)
        text = screen_text(screen)
        seen.append(text)
        assert "Hardware security module" in text
        if screen.request.kind == "seal":  # the engine may ask for the serial as it is sealed
            assert "BAG SEALED FOR THE BREAK" in text
            await type_text(pilot, "TEB-100301")
            await pilot.press("enter")
            return True
        assert "BAG CHECK AFTER THE BREAK" in text
        if screen.request.attempt == 1:
            await type_text(pilot, "TEB-100201")  # the old bag's serial
        else:
            assert "Refused: 'TEB-100201' is not the serial recorded for this bag" in text
            assert "after that the ceremony stops" in text
            await type_text(pilot, "TEB-100301")
        await pilot.press("enter")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"break": pause, "custody": stop_here(app)})
    assert sum("BAG CHECK AFTER THE BREAK" in text for text in seen) == 2
    assert entries(app, "break.started")[0]["data"] == {"left": ["bob", "erin"]}
    assert entries(app, "break.ended")[0]["data"] == {"returned": ["bob", "erin"], "absent": []}
    checks = [e["data"]["matches"] for e in entries(app, "bag.rechecked")]
    assert checks == [False, True]
    assert any(e["step"] == "break" for e in entries(app, "step.completed"))


# -------------------------------------------------------------------------------- sign-off


async def test_sign_off_takes_a_statement_from_everyone_present() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def sign(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if isinstance(screen, StepScreen):
            await pilot.press("f2")
            assert app.screen is screen, "a deviation here would be lost by the engine"
            return False
        assert isinstance(screen, SignOffScreen)
        assert len(screen.query(InlineChoice)) == 10
        await press_button(pilot, screen, "record")
        assert "Not accepted: Alice Martin has not answered yet" in screen_text(screen)
        await sign_all(pilot, screen)
        await pick(pilot, screen.query_one("#followed-dan", InlineChoice), "no")
        await press_button(pilot, screen, "record")
        text = screen_text(screen)
        assert "Dan Ivanov answered 'Not followed': write in the comment what was not" in text
        screen.query_one("#comment-dan", Input).focus()
        await type_text(pilot, "the door log was off")
        await press_button(pilot, screen, "record")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"sign-off": sign, "print-report": stop_here(app)})
    statements = entries(app, "signoff.recorded")[0]["data"]["statements"]
    assert [(s["participant"], s["followed"]) for s in statements] == [
        ("alice", True),
        ("bob", True),
        ("carol", True),
        ("frank", True),
        ("hana", True),
        ("ines", True),
        ("judit", True),
        ("kemal", True),
        ("dan", False),
        ("erin", True),
    ]
    assert statements[8]["comment"] == "the door log was off"
