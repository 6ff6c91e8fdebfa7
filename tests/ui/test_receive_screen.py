"""Pilot tests of taking an object in by QR codes: the source, the live grid, Stop, witnesses."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen

from sealroom.ceremony.ports import QrProgress
from sealroom.ui.app import SealroomApp
from sealroom.ui.forms import FailureDecisionScreen
from sealroom.ui.receive_screen import (
    MISSING,
    RECEIVED,
    REPAIRED,
    ReceivedCheckScreen,
    ReceiveScreen,
    ReceiveSourceScreen,
    grid_lines,
)
from sealroom.ui.widgets import ListPicker
from tests.ui.helpers import drive, pick, press_button, screen_text, type_text, until
from tests.unit.test_actions import world_for

CSR = "issuing-ca-csr"
ROOT = "root-certificate"
SIZE = (80, 24)
SHOTS = Path(os.environ.get("SEALROOM_SHOTS", "/tmp/sealroom-shots"))
SHOTS.mkdir(parents=True, exist_ok=True)  # screenshots to look at; a fresh machine has no folder


def progress(payload: bytes, received: tuple[int, ...], total: int = 12, **kw: Any) -> QrProgress:
    return QrProgress(
        source=kw.pop("source", "camera 0"),
        payload_type="CSR",
        digest_hex=hashlib.sha256(payload).hexdigest(),
        total=total,
        received=received,
        repaired=kw.pop("repaired", ()),
        notice=kw.pop("notice", None),
        images=kw.pop("images", 40),
        codes=kw.pop("codes", 31),
    )


def test_the_grid_marks_received_missing_and_rebuilt_frames_in_rows_of_ten() -> None:
    lines = grid_lines(progress(b"x", (1, 2, 4, 11), repaired=(4,)))
    assert lines == [
        f" 1\u201310  {RECEIVED} {RECEIVED} {MISSING} {REPAIRED} " + " ".join([MISSING] * 6),
        f"11\u201312  {RECEIVED} {MISSING}",
    ]
    assert grid_lines(None) == ["Waiting for the first QR code of the message …"]


def stop_after_import(app: SealroomApp) -> Any:
    async def hook(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        app.exit(None)
        return True

    return hook


async def test_the_grid_fills_a_notice_shows_and_stop_stops_the_reception() -> None:
    world, _ = world_for("subordinate-ca-signing")
    payload = world.receiver.payloads[CSR]
    other = "camera 0: frame 2/5 of another message (id 7KQ2…); ignored."
    world.receiver.updates[CSR] = [
        progress(payload, (), total=12, images=3, codes=0, source="camera 0"),
        progress(payload, (1, 2, 3), images=9, codes=4),
        progress(payload, (1, 2, 3, 5, 6, 7, 8), images=20, codes=11, notice=other),
    ]
    world.receiver.endless.add(CSR)  # a camera that never sees frames 4 and 9-12
    prepared = {ROOT: [ROOT], CSR: [CSR]}
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True, prepared=prepared)
    seen: dict[str, str] = {}

    async def source(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, ReceiveSourceScreen)
        text = screen_text(screen)
        if screen.choice.input_id == CSR:
            seen["source"] = text
            app.save_screenshot("receive-source-80x24.svg", str(SHOTS))
        assert "Where do the QR codes of" in text
        assert "Rehearsal: the stand-in QR images prepared (1)" in text
        assert "Camera 0 (/dev/video0" in text
        assert "Image files or a scanned PDF" in text
        await press_button(pilot, screen, "start")
        return True

    async def grid(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, ReceiveScreen)
        if screen.input_id != CSR:
            await until(pilot, lambda: not screen.is_attached, "the root certificate read")
            return True
        await until(
            pilot,
            lambda: screen.progress is not None and len(screen.progress.received) == 7,
            "seven frames on the grid",
        )
        await pilot.pause()
        seen["grid"] = screen_text(screen)
        app.save_screenshot("receive-grid-80x24.svg", str(SHOTS))
        await pilot.press("s")
        return True

    async def decide(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, FailureDecisionScreen)
        seen["failure"] = screen_text(screen)
        await pick(pilot, screen.query_one("#decision", ListPicker), "abort")
        await press_button(pilot, screen, "record")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(
            pilot,
            app,
            {
                "ReceiveSourceScreen": source,
                "ReceiveScreen": grid,
                "FailureDecisionScreen": decide,
            },
        )
    grid_text = seen["grid"]
    assert "CSR message of 12 frames" in grid_text
    assert f"1\u201310  {RECEIVED} {RECEIVED} {RECEIVED} {MISSING} {RECEIVED}" in grid_text
    assert "7 of 12 frames in · 20 images looked at · 11 QR codes read" in grid_text
    assert f"Latest notice: {other}" in grid_text
    assert "Stop reading" in grid_text
    # Stop: the receiver was told to stop; the room was asked; the journal records it.
    assert world.receiver.stopped_at is not None
    assert "stopped by the operator" in seen["failure"]
    deviations = [e for e in world.journal.entries if e["event"] == "deviation.recorded"]
    assert any("stopped by the operator" in str(d["data"]["observed"]) for d in deviations)  # type: ignore[index]
    received = [
        e["data"]["input_id"] for e in world.journal.entries if e["event"] == "input.received"
    ]  # type: ignore[index]
    assert received == [ROOT]
    assert world.journal.events()[-1] == "ceremony.aborted"


async def test_the_witnesses_see_the_sha256_and_facts_then_accept_before_it_is_used(
    tmp_path: Path,
) -> None:
    world, _ = world_for("subordinate-ca-signing")
    payload = world.receiver.payloads[CSR]
    paths = tmp_path / "scan.pdf"
    paths.write_bytes(b"%PDF-1.4 stand-in")  # only its existence is checked by the screen
    world.receiver.payloads[str(paths)] = payload
    world.receiver.updates[str(paths)] = [
        progress(payload, (1, 2), total=3, source=f"{paths} page 1"),
        progress(payload, (1, 2, 3), total=3, repaired=(3,), source=f"{paths} page 1"),
    ]
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True, prepared={ROOT: [ROOT]})
    seen: dict[str, str] = {}
    grids: list[ReceiveScreen] = []

    async def source(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, ReceiveSourceScreen)
        if screen.choice.input_id != CSR:
            return False
        picker = screen.query_one("#source", ListPicker)
        await pick(pilot, picker, "files")
        await type_text(pilot, str(tmp_path / "missing.pdf"))
        await pilot.press("enter")
        assert "missing.pdf does not exist" in screen_text(screen)
        await pilot.press("end", "ctrl+u")
        await type_text(pilot, str(paths))
        await pilot.press("enter")
        return True

    async def grid(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, ReceiveScreen)
        grids.append(screen)
        await until(pilot, lambda: not screen.is_attached, "the reception to end")
        return True

    async def witnesses(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, ReceivedCheckScreen)
        text = screen_text(screen)
        if "CSR received" not in text:
            return False
        seen["check"] = text
        app.save_screenshot("receive-witnesses-80x24.svg", str(SHOTS))
        # Nothing is accepted before the witnesses press the button: the journal has no entry.
        received = [
            e["data"]["input_id"] for e in world.journal.entries if e["event"] == "input.received"
        ]  # type: ignore[index]
        assert CSR not in received
        await press_button(pilot, screen, "accept")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(
            pilot,
            app,
            {
                "ReceiveSourceScreen": source,
                "ReceiveScreen": grid,
                "ReceivedCheckScreen": witnesses,
                "check-csr": stop_after_import(app),
            },
        )
    assert world.receiver.calls[-1] == ((str(paths),), "CSR")
    # (A reception this quick may be over before the grid is looked at: test 1 reads the grid.)
    assert all(g.progress is None or g.progress.total is not None for g in grids)
    text = seen["check"]
    digest = hashlib.sha256(payload).hexdigest().upper()
    assert "SHOW TO THE WITNESSES" in text
    assert "CN=Request issuing-ca-csr" in text
    assert digest[:4] + " " + digest[4:8] in text
    assert "SHA-256 of what was received" in text and "SHA-256 the script lists" in text
    assert "compare the SHA-256 and the facts below" in text
    entry = next(
        e
        for e in world.journal.entries
        if e["event"] == "input.received" and e["data"]["input_id"] == CSR  # type: ignore[index]
    )
    assert entry["data"]["witnessed"] is True  # type: ignore[index]


async def test_witnesses_who_refuse_keep_the_object_out_and_say_why() -> None:
    world, _ = world_for("subordinate-ca-signing")
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True, prepared={ROOT: [ROOT]})
    world.receiver.payloads["camera:0"] = world.receiver.payloads[CSR]
    seen: list[str] = []

    async def witnesses(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, ReceivedCheckScreen)
        if "CSR received" not in screen_text(screen):
            return False
        await press_button(pilot, screen, "refuse")
        await until(pilot, lambda: app.screen is not screen, "the refusal dialog")
        await type_text(pilot, "the form ends 77C1")
        await pilot.press("enter")
        return True

    async def decide(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, FailureDecisionScreen)
        seen.append(screen_text(screen))
        await pick(pilot, screen.query_one("#decision", ListPicker), "abort")
        await press_button(pilot, screen, "record")
        return True

    async with app.run_test(size=SIZE) as pilot:
        await drive(pilot, app, {"ReceivedCheckScreen": witnesses, "FailureDecisionScreen": decide})
    assert "the witnesses did not accept the csr received (the form ends 77C1)" in seen[0]
    received = [
        e["data"]["input_id"] for e in world.journal.entries if e["event"] == "input.received"
    ]  # type: ignore[index]
    assert received == [ROOT]
    assert "certificate.issued" not in world.journal.events()


async def test_the_screens_at_a_large_terminal(tmp_path: Path) -> None:
    """Screenshots at 160x48 of the grid of a 40-frame reception (looked at by a person)."""
    world, _ = world_for("subordinate-ca-signing")
    payload = world.receiver.payloads[CSR]
    world.receiver.updates[CSR] = [
        replace(
            progress(payload, tuple(i for i in range(1, 41) if i % 7), total=41, repaired=(20,)),
            notice="camera 0: a QR code with a bad checksum (frame 14/41); ignored.",
        )
    ]
    world.receiver.endless.add(CSR)
    prepared = {ROOT: [ROOT], CSR: [CSR]}
    app = SealroomApp(world.runner, unsafe_no_arming_delay=True, prepared=prepared)

    async def grid(pilot: Pilot[Any], screen: Screen[Any]) -> bool:
        assert isinstance(screen, ReceiveScreen)
        if screen.input_id != CSR:
            await until(pilot, lambda: not screen.is_attached, "the root certificate read")
            return True
        await until(pilot, lambda: screen.progress is not None, "the grid")
        await pilot.pause()
        text = screen_text(screen)
        assert "35 of 41 frames in (1 rebuilt)" in text
        assert "bad checksum" in text
        app.save_screenshot("receive-grid-160x48.svg", str(SHOTS))
        app.exit(None)
        return True

    async with app.run_test(size=(160, 48)) as pilot:
        await drive(pilot, app, {"ReceiveScreen": grid})
