"""Pilot tests of the QR screen: rate keys, pause and step, SHA-256 in hex and PGP words."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen

import sealroom.ui.app
from sealroom.ceremony.actions import journal_head_payload
from sealroom.ceremony.fingerprint import sha256_fingerprint
from sealroom.ceremony.loader import load_script
from sealroom.ceremony.ports import Fact, JournalHead, StepView
from sealroom.transfer.frames import encode_frames
from sealroom.transfer.scan import decode_image
from sealroom.ui.qr_screen import FRAMES_PER_SECOND, RATES, QrScreen, render_symbols
from tests.fakes import ROOT_SCRIPT
from tests.ui.helpers import qr_image, screen_text, until

SHOTS = Path(os.environ.get("SEALROOM_SHOTS", "/tmp/sealroom-shots"))
SHOTS.mkdir(parents=True, exist_ok=True)  # screenshots to look at; a fresh machine has no folder
SCRIPT = load_script(ROOT_SCRIPT).script


class Host(App[None]):
    """Just enough of the Sealroom app to show one screen: the ceremony bar's state, the styles."""

    CSS_PATH = str(Path(sealroom.ui.app.__file__).with_name("sealroom.tcss"))
    arming_seconds = 0.0
    ceremony_id = SCRIPT.ceremony.id
    rehearsal = True
    progress = "Step 27 of 30"

    def __init__(self, make: Callable[[Host], Screen[Any]]) -> None:
        super().__init__()
        self.make = make

    def on_mount(self) -> None:
        self.push_screen(self.make(self))


def view_of(step_id: str) -> StepView:
    index = next(i for i, s in enumerate(SCRIPT.steps) if s.id == step_id)
    return StepView(index, len(SCRIPT.steps), SCRIPT.steps[index], (), {})


def qr_screen(title: str, frames: list[str], facts: tuple[Fact, ...], step: str) -> Host:
    symbols = render_symbols(frames)
    return Host(lambda host: QrScreen(host, view_of(step), title, symbols, facts))


async def test_rate_keys_pause_and_step_with_the_sha256_beside_the_code() -> None:
    payload = bytes(range(256)) * 6  # ~1.5 KB like an RSA-4096 root: three frames
    frames = encode_frames(payload, "CRT")
    assert len(frames) == 3
    fpr = sha256_fingerprint(payload)
    facts = (Fact("Certificate SHA-256", fpr.grouped(), fpr.words),)
    app = qr_screen("Certificate: CN=Example Root", frames, facts, "show-root-certificate")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QrScreen), "the QR screen")
        screen = app.screen
        assert isinstance(screen, QrScreen)
        await pilot.pause()
        need_w, need_h = screen.needed()
        small = screen_text(screen)
        assert f"Enlarge the terminal to at least {need_w} columns and {need_h} rows" in small
        assert "3 QR codes shown in turn" in small
        app.save_screenshot("qr-enlarge-80x24.svg", str(SHOTS))
        await pilot.resize_terminal(need_w, need_h)
        await until(pilot, lambda: screen.query_one("#qr-area").display, "the QR code")
        assert screen.rate == FRAMES_PER_SECOND == 4
        text = screen_text(screen)
        assert "4 frames/s  ·  - slower  + faster" in text
        assert "Certificate SHA-256" in text
        assert fpr.grouped()[:19] in text and fpr.words.split()[0] in text
        app.save_screenshot(f"qr-animated-{need_w}x{need_h}.svg", str(SHOTS))
        # Slower, down to the slowest rate and no further; then faster to the fastest.
        for _ in range(len(RATES) + 2):
            await pilot.press("minus")
        assert screen.rate == RATES[0] == 1
        assert "1 frames/s" in screen_text(screen)
        for _ in range(len(RATES) + 2):
            await pilot.press("plus")
        assert screen.rate == RATES[-1] == 10
        assert "10 frames/s" in screen_text(screen)
        await pilot.press("minus")
        assert screen.rate == RATES[-2]
        shown = set()
        for _ in range(10):
            shown.add(screen.index)
            await pilot.pause(0.1)
        assert len(shown) >= 2, "the frames do not animate"
        # Pause: the frame stays; the arrows step through every frame, which decodes.
        await pilot.press("space")
        assert screen.paused
        assert "PAUSED" in screen_text(screen)
        start = screen.index
        await pilot.pause(0.5)
        assert screen.index == start
        decoded = []
        for step in range(3):
            assert f"Frame {(start + step) % 3 + 1} of 3" in screen_text(screen)
            lines = str(screen.query_one("#qr-code").content).split("\n")  # type: ignore[attr-defined]
            decoded += decode_image(qr_image(lines))
            await pilot.press("right")
        assert sorted(decoded) == sorted(frames)
        await pilot.press("left")
        assert screen.index == (start + 2) % 3
        await pilot.press("space")
        assert not screen.paused


async def test_a_single_frame_stands_still_beside_the_journal_heads_facts() -> None:
    head = JournalHead(212, "5a" * 32)
    payload = journal_head_payload(SCRIPT.ceremony.id, head, "c3" * 32, rehearsal=True)
    frames = encode_frames(payload, "JNL")
    assert len(frames) == 1
    fpr = sha256_fingerprint(payload)
    facts = (
        Fact("Journal entry", str(head.seq)),
        Fact("Payload SHA-256", fpr.grouped(), fpr.words),
    )
    title = f"Journal head: entry {head.seq} of {SCRIPT.ceremony.id}"
    app = qr_screen(title, frames, facts, "export-journal-head")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, QrScreen), "the QR screen")
        screen = app.screen
        assert isinstance(screen, QrScreen)
        need_w, need_h = screen.needed()
        await pilot.resize_terminal(max(need_w, 80), max(need_h, 24))
        await until(pilot, lambda: screen.query_one("#qr-area").display, "the QR code")
        assert screen.timer is None
        await pilot.press("space", "right", "plus")  # no animation: the keys do nothing
        await pilot.pause(0.4)
        assert screen.index == 0 and not screen.paused and screen.rate == 4
        text = screen_text(screen)
        app.save_screenshot(f"qr-journal-head-{max(need_w, 80)}x{max(need_h, 24)}.svg", str(SHOTS))
        lines = str(screen.query_one("#qr-code").content).split("\n")  # type: ignore[attr-defined]
        assert decode_image(qr_image(lines)) == frames
    assert "1 frame: the code stands still" in text
    assert f"Journal head: entry 212 of {SCRIPT.ceremony.id}" in text
    assert fpr.grouped()[:19] in text and fpr.words.split()[0] in text
