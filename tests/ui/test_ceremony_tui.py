"""The ceremony TUI driven with the keyboard over port fakes, at 80x24, as the room would use it."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from sealroom.ceremony.loader import load_script
from sealroom.ceremony.script import KeySpec
from sealroom.transfer.frames import encode_frames
from sealroom.transfer.scan import decode_image
from sealroom.ui import widgets
from sealroom.ui.app import SealroomApp, closing_on_hangup
from sealroom.ui.forms import FailureDecisionScreen
from sealroom.ui.operator import STOPPED_BY_OPERATOR, TERMINAL_CLOSED
from sealroom.ui.qr_screen import QrScreen
from sealroom.ui.screens import (
    AttendanceScreen,
    ConfirmStopScreen,
    FailureScreen,
    MismatchScreen,
    OutcomeScreen,
    PinScreen,
    StartScreen,
    StepScreen,
    WorkingScreen,
)
from sealroom.ui.widgets import ARMING_SECONDS, ListPicker, RoleChoice
from tests.fakes import ROOT_SCRIPT, FakeHsm, SoftwareKey, fake_world
from tests.ui.helpers import (
    answer,
    choose_people,
    drive,
    is_waiting,
    next_screen,
    pick,
    press_button,
    qr_image,
    screen_text,
    tick_present,
    type_text,
    until,
)

SIZE = (80, 24)


async def test_whole_ceremony_steps_advance_in_order_to_the_finish_screen() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, rehearsal_pin="4711-2027", unsafe_no_arming_delay=True)
    log: list[tuple[str, str | None]] = []
    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, log=log)
    assert app.result is not None and app.result.completed
    assert app.return_value == app.result
    assert app.result.steps_done == len(world.runner.script.steps)
    asked = [step for kind, step in log if kind in {"AttendanceScreen", "StepScreen"}]
    assert asked == [s.id for s in world.runner.script.steps]
    kinds = [kind for kind, _ in log]
    assert kinds[0] == "StartScreen"
    assert kinds[-1] == "FinishScreen"
    for expected in (
        "PinScreen",
        "OutcomeScreen",
        "QrScreen",
        "CustodianReadyScreen",
        "ShareWordsScreen",
    ):
        assert expected in kinds
    events = world.journal.events()
    assert events[-1] == "ceremony.closed"
    completed = [e["step"] for e in world.journal.entries if e["event"] == "step.completed"]
    assert completed == [s.id for s in world.runner.script.steps]
    for screen in ("TypingScreen", "SignOffScreen"):
        assert screen in kinds
    entries = [e["data"] for e in world.journal.entries if e["event"] == "entry.recorded"]
    values = [d["value"] for d in entries]  # type: ignore[index,call-overload]
    assert values == [
        "+2",
        "TEB-100201",
        "HSM-0001",
        "TEB-100202",
        "TEB-100203",
        "HSM-0006",
        "MED-0101",
        "MED-0102",
        "TEB-100301",
        "TEB-100303",
        "TEB-100304",
        "TEB-100305",
        "TEB-100302",
    ]
    assert "entry.rejected" not in events and "deviation.recorded" not in events
    # The backup: each of the five custodians called to the printer in turn, each sheet's bag
    # typed twice; then the three restore-test custodians type their shares.
    custodians = ["frank", "hana", "ines", "judit", "kemal"]
    backup_screens = [
        (kind, step) for kind, step in log if step in {"backup-root-key", "restore-test"}
    ]
    assert [k for k, s in backup_screens if k == "CustodianReadyScreen"] == [
        "CustodianReadyScreen"
    ] * 5
    assert [k for k, s in backup_screens if k == "ShareWordsScreen"] == ["ShareWordsScreen"] * 3
    sealed = [e["data"] for e in world.journal.entries if e["event"] == "share.sealed"]
    assert [(d["custodian"], d["bag"]) for d in sealed] == [  # type: ignore[index,call-overload]
        (person, f"TEB-10031{n}") for n, person in enumerate(custodians, start=1)
    ]
    accepted = [e["data"] for e in world.journal.entries if e["event"] == "share.accepted"]
    assert [d["custodian"] for d in accepted] == ["frank", "hana", "ines"]  # type: ignore[index,call-overload]
    assert "share.rejected" not in events
    tested = next(e["data"] for e in world.journal.entries if e["event"] == "restore.tested")
    assert tested["passed"] is True and tested["objects_after_zeroise"] == 0  # type: ignore[index,call-overload]
    signed = next(e for e in world.journal.entries if e["event"] == "signoff.recorded")
    statements = signed["data"]["statements"]  # type: ignore[index,call-overload]
    assert [s["participant"] for s in statements] == [
        "alice",
        "bob",
        "carol",
        *custodians,
        "dan",
        "erin",
    ]
    assert all(s["followed"] and s["comment"] is None for s in statements)


async def test_the_start_screen_identifies_the_ceremony_and_the_script() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, rehearsal_pin="4711-2027", unsafe_no_arming_delay=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await next_screen(pilot, app, StartScreen)
        text = screen_text(screen)
        bar = screen_text(screen)
        sha = world.runner.loaded.sha256.upper()
        assert world.runner.script.ceremony.id in text
        assert world.runner.script.ceremony.title in text
        assert " ".join(sha[i : i + 4] for i in range(0, 32, 4)) in text
        assert "REHEARSAL" in bar
        assert "Rehearsal token only" in text and "4711-2027" in text
        assert screen.focused is not None and screen.focused.id == "begin"


async def test_a_step_cannot_be_confirmed_before_every_role_is_chosen() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def bag(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if not isinstance(screen, StepScreen):
            return False  # the entry itself: the default answer
        await press_button(pilot, screen, "next")
        assert app.screen is screen, "a step without a chosen crypto officer was accepted"
        assert "Not accepted: choose who acts as Crypto officer" in screen_text(screen)
        await choose_people(pilot, screen)
        assert "Not accepted" not in screen_text(screen)
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"hsm-bag": bag, "QrScreen": _stop_here(app)})


def _stop_here(app: SealroomApp) -> Any:
    async def hook(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        app.exit(None)
        return True

    return hook


async def test_the_same_person_as_performer_and_witness_is_refused_with_a_message(
    tmp_path: Path,
) -> None:
    text = ROOT_SCRIPT.read_text()
    text = text.replace(
        "    name: Carol Nguyen\n    roles: [crypto-officer]",
        "    name: Carol Nguyen\n    roles: [crypto-officer, internal-witness]",
    )
    assert "roles: [crypto-officer, internal-witness]" in text
    script_path = tmp_path / "two-roles.yaml"
    script_path.write_text(text)
    world = fake_world(load_script(script_path))
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    seen: list[str] = []

    async def bag(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if not isinstance(screen, StepScreen):
            return False  # the entry itself: the default answer
        await choose_people(pilot, screen, {"crypto-officer": "carol", "internal-witness": "carol"})
        await press_button(pilot, screen, "next")
        message = screen_text(screen)
        seen.append(message)
        assert app.screen is screen
        assert "Not accepted: Carol Nguyen cannot both perform and witness" in message
        await choose_people(pilot, screen, {"internal-witness": "dan"})
        await press_button(pilot, screen, "next")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"hsm-bag": bag, "hsm-login": _stop_here(app)})
    assert seen
    bag_entry = next(
        e
        for e in world.journal.entries
        if e["event"] == "entry.recorded" and e["step"] == "hsm-bag"
    )
    actors = {(a["participant"], a["capacity"]) for a in bag_entry["actors"]}  # type: ignore[union-attr,index]
    assert ("carol", "performer") in actors and ("dan", "witness") in actors


async def test_attendance_needs_people_ticked_and_every_role_present() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    async with app.run_test(size=SIZE) as pilot:
        start = await next_screen(pilot, app, StartScreen)
        await answer(pilot, start)
        screen = await next_screen(pilot, app, AttendanceScreen)
        await press_button(pilot, screen, "confirm")
        assert "Not accepted: tick everyone who is present first" in screen_text(screen)
        custodians = ["frank", "hana", "ines", "judit", "kemal"]
        await tick_present(pilot, screen, ["alice", "bob", *custodians, "dan"])
        await press_button(pilot, screen, "confirm")
        assert "Not accepted: choose who acts as Independent witness (auditor)" in screen_text(
            screen
        )
        assert "Erin Schmidt (Example Audit LLP)  (not present)" in screen_text(screen)
        await tick_present(pilot, screen, ["erin"])
        assert "Not accepted" not in screen_text(screen)
        await press_button(pilot, screen, "confirm")
        await next_screen(pilot, app, StepScreen)
        app.exit(None)
    # Carol was not ticked but every role has a holder: attendance is accepted without her.
    present = next(e for e in world.journal.entries if e["event"] == "attendance.recorded")
    assert present["data"]["absent"] == ["carol"]  # type: ignore[index,call-overload]


async def test_a_wrong_pin_shows_the_attempts_left_and_is_never_displayed() -> None:
    world = fake_world()
    # No rehearsal hint: no PIN may appear anywhere.
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    wrong = "zqxv-wrong"
    texts: list[str] = []

    async def pin(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, PinScreen)
        if screen.attempt == 1:
            assert "Attempt 1 of 3" in screen_text(screen)
            await type_text(pilot, wrong)
            texts.append(screen_text(screen) + app.export_screenshot())
            await pilot.press("enter")
            return True
        text = screen_text(screen)
        texts.append(text + app.export_screenshot())
        assert "Attempt 2 of 3" in text
        assert "The HSM refused the PIN. 2 attempts left" in text
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"PinScreen": pin, "generate-root-key": _stop_here(app)})
    assert len(texts) == 2
    for text in texts:
        assert wrong not in text and "4711-2027" not in text
    events = world.journal.events()
    assert events.count("hsm.login-failed") == 1 and "hsm.login" in events
    journal = json.dumps(world.journal.entries)
    assert wrong not in journal and "4711-2027" not in journal


async def test_a_short_pin_is_refused_without_using_an_attempt() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def pin(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, PinScreen)
        await type_text(pilot, "12")
        await pilot.press("enter")
        assert app.screen is screen
        assert "a PIN has at least 4 characters" in screen_text(screen)
        app.exit(None)
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"PinScreen": pin})
    assert world.hsm.failures == 0


async def test_a_witness_check_mismatch_stops_the_ceremony_and_journals_why() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    reasons: list[str] = []

    async def software(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, StepScreen)
        await choose_people(pilot, screen)
        await press_button(pilot, screen, "mismatch")
        dialog = await next_screen(pilot, app, MismatchScreen)
        await press_button(pilot, dialog, "record")
        assert "write what you saw" in screen_text(dialog)
        dialog.query_one("#observed").focus()
        await type_text(pilot, "TEB-100299 seal torn")
        await pilot.press("enter")
        failure = await next_screen(pilot, app, FailureScreen)
        reasons.append(screen_text(failure))
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"software-integrity": software})
    assert reasons
    assert "THE CEREMONY HAS STOPPED" in reasons[0]
    assert "the witnesses saw a mismatch" in reasons[0]
    assert "TEB-100299 seal torn" in reasons[0]
    assert "Traceback" not in reasons[0]
    assert app.result is not None and not app.result.completed
    assert app.result.reason is not None and "TEB-100299 seal torn" in app.result.reason
    assert world.journal.events()[-1] == "ceremony.aborted"
    aborted = world.journal.entries[-1]
    assert aborted["step"] == "software-integrity"
    assert "TEB-100299 seal torn" in aborted["data"]["reason"]  # type: ignore[index,call-overload]


async def test_stopping_from_the_terminal_asks_first_then_journals_the_abort() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def room(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        await pilot.press("ctrl+q")
        dialog = await next_screen(pilot, app, ConfirmStopScreen)
        assert "Stop the ceremony?" in screen_text(dialog)
        assert dialog.focused is not None and dialog.focused.id == "keep"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "the step again")
        assert world.journal.events()[-1] != "ceremony.aborted"
        await pilot.press("ctrl+q")
        dialog = await next_screen(pilot, app, ConfirmStopScreen)
        await press_button(pilot, dialog, "stop")
        await until(pilot, lambda: app.result is not None, "the stop")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"room-check": room})
    assert app.result is not None
    assert not app.result.completed
    assert app.result.reason == STOPPED_BY_OPERATOR
    assert app.result.steps_done == 2
    assert world.journal.events()[-1] == "ceremony.aborted"
    assert world.journal.entries[-1]["data"] == {"reason": STOPPED_BY_OPERATOR}
    assert world.journal.entries[-1]["step"] == "room-check"


class SlowHsm(FakeHsm):
    """Key generation that takes a while, as RSA-4096 does in a real token."""

    def generate_key(self, spec: KeySpec) -> SoftwareKey:
        time.sleep(1.0)
        return super().generate_key(spec)


async def test_long_hsm_work_shows_a_working_screen_that_cannot_be_stopped_halfway() -> None:
    world = fake_world()
    slow = SlowHsm()
    object.__setattr__(world.runner.ports, "hsm", slow)
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    seen: list[str] = []

    async def generate(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        await answer(pilot, screen)
        working = await next_screen(pilot, app, WorkingScreen)
        seen.append(screen_text(working))
        await pilot.press("ctrl+q")
        assert not isinstance(app.screen, ConfirmStopScreen)
        assert any("The HSM is working" in str(n.message) for n in app._notifications)
        app.exit(None)
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"generate-root-key": generate})
    assert "Generating the rsa-4096 key pair in the HSM" in seen[0]
    assert "WORKING" in seen[0]


async def test_an_adapter_error_shows_its_message_without_a_traceback() -> None:
    from sealroom.errors import HsmError

    class BrokenHsm(FakeHsm):
        def generate_key(self, spec: KeySpec) -> SoftwareKey:
            raise HsmError("The HSM refused to generate the key: CKR_DEVICE_ERROR. Check the HSM.")

    world = fake_world()
    object.__setattr__(world.runner.ports, "hsm", BrokenHsm())
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    shown: list[str] = []

    async def decide(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, FailureDecisionScreen)
        shown.append(screen_text(screen))
        await pick(pilot, screen.query_one("#decision", ListPicker), "abort")
        await press_button(pilot, screen, "record")
        return True

    async def failure(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        shown.append(screen_text(screen))
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"FailureDecisionScreen": decide, "FailureScreen": failure})
    assert "THE STEP COULD NOT BE COMPLETED" in shown[0]
    assert "CKR_DEVICE_ERROR. Check the HSM." in shown[0]
    assert "Retry the action" in shown[0] and "Proceed" not in shown[0]
    assert "CKR_DEVICE_ERROR. Check the HSM." in shown[1]
    assert "Traceback" not in shown[0] + shown[1]
    assert app.result is not None and app.result.reason is not None
    assert "CKR_DEVICE_ERROR" in app.result.reason
    assert world.journal.events()[-2:] == ["deviation.recorded", "ceremony.aborted"]
    decided = world.journal.entries[-2]
    assert decided["data"]["decision"] == "abort"  # type: ignore[index,call-overload]
    assert decided["actors"] == [  # the only administrator present is chosen already
        {"participant": "alice", "role": "administrator", "capacity": "decider"}
    ]


async def test_a_bug_in_an_adapter_is_journaled_and_shown_as_an_internal_error() -> None:
    class BuggyHsm(FakeHsm):
        def generate_key(self, spec: KeySpec) -> SoftwareKey:
            raise ZeroDivisionError("secret detail")

    world = fake_world()
    object.__setattr__(world.runner.ports, "hsm", BuggyHsm())
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    shown: list[str] = []

    async def failure(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        shown.append(screen_text(screen))
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"FailureScreen": failure})
    assert "Internal error (ZeroDivisionError)" in shown[0]
    assert "secret detail" not in shown[0]
    assert world.journal.events()[-1] == "ceremony.aborted"
    assert app.result is not None and not app.result.completed


async def test_the_qr_code_on_screen_decodes_to_the_frame() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    decoded: list[list[str]] = []

    async def qr(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if isinstance(screen, StepScreen):
            return False  # the step itself: the default answer
        assert isinstance(screen, QrScreen)
        width, height = screen.needed()
        assert width <= 80, "a one-frame certificate fits 80 columns"
        await pilot.resize_terminal(max(width, 80), max(height, 24))
        await until(pilot, lambda: screen.query_one("#qr-area").display, "the QR code")
        lines = str(screen.query_one("#qr-code").content).split("\n")  # type: ignore[attr-defined]
        decoded.append(decode_image(qr_image(lines)))
        assert list(screen.symbols.frames) == decoded[0]
        assert "Certificate SHA-256" in screen_text(screen)
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"show-root-certificate": qr})
    assert decoded and decoded[0][0].startswith("SR1/CRT/")
    assert "qr.shown" in world.journal.events()


async def test_a_certificate_too_big_for_the_terminal_asks_to_enlarge_it_then_animates() -> None:
    world = fake_world()
    frames = encode_frames(bytes(range(256)) * 6, "CRT")  # ~1.5 KB like an RSA-4096 root
    assert len(frames) == 3
    object.__setattr__(world.runner.ports, "qr", type("Qr", (), {"frames": lambda *_: frames})())
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    checks: list[str] = []

    async def qr(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        if isinstance(screen, StepScreen):
            return False  # the step itself: the default answer
        assert isinstance(screen, QrScreen)
        need_w, need_h = screen.needed()
        text = screen_text(screen)
        assert f"Enlarge the terminal to at least {need_w} columns and {need_h} rows" in text
        assert "3 QR codes shown in turn" in text
        assert "Certificate SHA-256" in text
        await pilot.resize_terminal(need_w, need_h)
        await until(pilot, lambda: screen.query_one("#qr-area").display, "the QR code")
        await pilot.press("space")  # pause, then step through every frame with the arrow key
        seen = []
        for _ in range(3):
            lines = str(screen.query_one("#qr-code").content).split("\n")  # type: ignore[attr-defined]
            seen += decode_image(qr_image(lines))
            checks.append(screen_text(screen))
            await pilot.press("right")
        assert sorted(seen) == sorted(frames)
        assert any("Frame 2 of 3" in t for t in checks)
        await pilot.press("space")
        assert not screen.paused
        shown = set()
        for _ in range(10):
            shown.add(screen.index)
            await pilot.pause(0.1)
        assert len(shown) >= 2, "the frames do not animate"
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: not screen.query_one("#qr-area").display, "the notice")
        return False

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"show-root-certificate": qr})
    assert app.result is not None and app.result.completed


async def test_people_are_chosen_with_the_arrow_keys_and_space() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def login(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, StepScreen)
        officer = next(c for c in screen.query(RoleChoice) if c.role == "crypto-officer")
        assert officer.chosen is None, "two crypto officers are present: nobody is pre-chosen"
        assert screen.focused is officer, "focus starts on the first choice, not on a button"
        await pilot.press("down", "space")
        assert officer.chosen == "carol"
        await pick(pilot, officer, "bob")
        assert officer.chosen == "bob"
        assert "(\u25cf) Bob Okafor" in screen_text(screen)
        app.exit(None)
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"hsm-login": login})


async def test_screenshots_of_the_start_and_a_step_screen_for_the_readme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One fixed time in the bar, so the screenshots in docs/ change only when the UI does.
    monkeypatch.setattr(widgets, "clock_text", lambda moment=None: "09:14:03 UTC")
    images = Path(__file__).resolve().parents[2] / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    world = fake_world()
    app = SealroomApp(world.runner, rehearsal_pin="4711-2027", unsafe_no_arming_delay=True)

    async def start(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        app.save_screenshot("tui-start.svg", str(images))
        return False

    async def software(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        app.save_screenshot("tui-step.svg", str(images))
        app.exit(None)
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"StartScreen": start, "software-integrity": software})
    start_svg = (images / "tui-start.svg").read_text()
    step_svg = (images / "tui-step.svg").read_text()
    assert "Begin" in start_svg and "REHEARSAL" in start_svg
    assert "Verify" in step_svg and "Matches" in step_svg and "deviation" in step_svg


class SlowLoginHsm(FakeHsm):
    """A login that takes a moment, during which the room may press Ctrl+Q."""

    def login(self, pin: str) -> None:
        time.sleep(1.0)
        super().login(pin)


async def _stop_dialog_during_login(stop: bool) -> tuple[SealroomApp, Any, list[str]]:
    world = fake_world()
    world.hsm = SlowLoginHsm()
    object.__setattr__(world.runner.ports, "hsm", world.hsm)
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    seen: list[str] = []

    async def pin(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        await answer(pilot, screen)
        await until(pilot, lambda: is_waiting(app), "the engine to log in")
        await pilot.press("ctrl+q")
        dialog = await next_screen(pilot, app, ConfirmStopScreen)
        await until(pilot, lambda: app.deferred is not None, "the outcome to be held back")
        assert app.screen is dialog, "a new question covered the stop dialog"
        if stop:
            await press_button(pilot, dialog, "stop")
            await until(pilot, lambda: app.result is not None, "the stop")
        else:
            await pilot.press("escape")
            outcome = await next_screen(pilot, app, OutcomeScreen)
            seen.append(screen_text(outcome))
            app.exit(None)
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"PinScreen": pin})
    return app, world, seen


async def test_a_question_arriving_while_the_stop_dialog_is_open_waits_behind_it() -> None:
    _app, _world, seen = await _stop_dialog_during_login(stop=False)
    assert "The HSM is activated." in seen[0]


async def test_stopping_while_a_question_is_held_back_aborts_and_logs_out() -> None:
    app, world, _seen = await _stop_dialog_during_login(stop=True)
    assert app.result is not None and app.result.reason == STOPPED_BY_OPERATOR
    assert world.journal.events()[-1] == "ceremony.aborted"
    assert world.hsm.calls[-1] == "logout"


async def test_a_terminal_hangup_journals_the_abort_instead_of_killing_the_process() -> None:
    world = fake_world()
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)

    async def room(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        os.kill(os.getpid(), signal.SIGHUP)
        await until(pilot, lambda: app.result is not None, "the abort")
        return True

    with closing_on_hangup(app):
        async with app.run_test(size=SIZE) as pilot:
            await drive(pilot, app, {"room-check": room})
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    assert app.result is not None and app.result.reason == TERMINAL_CLOSED
    assert world.journal.events()[-1] == "ceremony.aborted"
    assert world.journal.entries[-1]["step"] == "room-check"


async def test_a_stray_key_right_after_a_screen_appears_neither_chooses_nor_confirms() -> None:
    world = fake_world()
    app = SealroomApp(world.runner)  # the real arming delay
    checked: list[bool] = []

    async def login(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, StepScreen)
        officer = next(c for c in screen.query(RoleChoice) if c.role == "crypto-officer")
        # A loaded test machine may take longer than the real delay to get here: widen the
        # window so "at once" is within it, whatever the machine.
        app.arming_seconds = 2.0
        await pilot.press("space")  # at once: a repeat of the Enter/space that ended step 6
        checked.append(officer.chosen is None)
        await pilot.pause(app.arming_seconds)
        await pilot.press("space")
        checked.append(officer.chosen == "bob")
        app.exit(None)
        return True

    async def default(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        await pilot.pause(ARMING_SECONDS)
        return False

    screens = ("StartScreen", "AttendanceScreen", "StepScreen", "TypingScreen")
    hooks = {name: default for name in screens}
    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {**hooks, "hsm-login": login})
    assert checked == [True, True]


async def test_a_failed_preflight_check_is_waived_at_attendance_with_a_deviation() -> None:
    from dataclasses import replace

    from tests.unit.test_preflight_engine import SCRIPTED_HSM_SERIAL, FakePreflight

    world = fake_world(rehearsal=False)
    world.hsm.token = replace(world.hsm.token, serial=SCRIPTED_HSM_SERIAL)
    world.runner.ports = replace(world.runner.ports, preflight=FakePreflight(failing=("devices",)))
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True)
    shown: list[str] = []
    after: list[str] = []

    async def decide(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, FailureDecisionScreen)
        shown.append(screen_text(screen))
        await pick(pilot, screen.query_one("#decision", ListPicker), "proceed")
        await press_button(pilot, screen, "record")
        return True

    async def next_step(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        after.append(type(screen).__name__)
        app.exit(None)
        return True

    first_after_attendance = world.runner.script.steps[1].id
    async with app.run_test(size=SIZE) as pilot:
        await drive(
            pilot, app, {"FailureDecisionScreen": decide, first_after_attendance: next_step}
        )
    assert len(shown) == 1
    assert "Preflight check devices failed: devices is broken" in shown[0]
    assert "Proceed: record the deviation and go on" in shown[0]
    assert "Check again (once the room has put it right)" in shown[0]
    assert after, "the ceremony did not go on after the deviation was recorded"
    deviation = next(e for e in world.journal.entries if e["event"] == "deviation.recorded")
    assert deviation["data"]["decision"] == "proceed"  # type: ignore[index,call-overload]
    assert deviation["data"]["observed"] == "preflight check devices failed: devices is broken"  # type: ignore[index,call-overload]
